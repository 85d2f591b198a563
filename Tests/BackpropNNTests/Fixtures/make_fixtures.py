"""Writes the PyTorch reference files the sequence-layer tests compare against (needs torch and
safetensors; never run by the build or the tests).

    python3 Tests/BackpropNNTests/Fixtures/make_fixtures.py

For each module: NAME.safetensors holds its state_dict, NAME-io.safetensors an input and
PyTorch's outputs, all float64.
"""
import os

import torch
from torch import nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def save(name, module, io):
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, os.path.join(HERE, name + ".safetensors"))
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(HERE, name + "-io.safetensors"))


with torch.no_grad():
    lstm = nn.LSTM(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    h0, c0 = torch.randn(1, 2, 4), torch.randn(1, 2, 4)
    out, (h, c) = lstm(x, (h0, c0))
    save("lstm", lstm, {"input": x, "h0": h0[0], "c0": c0[0], "output": out, "h": h[0], "c": c[0]})

    gru = nn.GRU(3, 4, batch_first=True)
    out, h = gru(x, h0)
    save("gru", gru, {"input": x, "h0": h0[0], "output": out, "h": h[0]})

    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    nn.init.normal_(attention.in_proj_bias)
    nn.init.normal_(attention.out_proj.bias)
    x = torch.randn(2, 5, 8)
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    padding = torch.tensor([[False] * 5, [False, False, False, True, True]])
    plain, _ = attention(x, x, x, need_weights=False)
    masked, weights = attention(x, x, x, attn_mask=causal, key_padding_mask=padding, average_attn_weights=False)
    save("attention", attention, {"input": x, "plain": plain, "masked": masked, "weights": weights})

    block = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    for parameter in block.parameters():
        nn.init.normal_(parameter, std=0.3)
    y = block(x, src_mask=nn.Transformer.generate_square_subsequent_mask(5), is_causal=True)
    save("transformer-block", block, {"input": x, "output": y})
