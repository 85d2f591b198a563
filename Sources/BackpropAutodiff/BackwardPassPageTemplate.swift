// The page of `Variable.backwardPassPage(title:)`: its HTML, style and script, around the data
// that `BackwardPassPage` computes. The script draws the graph from the data and replays the
// backward pass from each step's contributions, so the gradients it shows are sums it made
// itself, which the page tests compare with the tape's (`traces.tape` in the data).

/// The page for `title` (escaped HTML) and `data` (JSON, escaped for a script element).
func pageTemplate(title: String, data: String) -> String {
  """
  <!DOCTYPE html>
  <html lang="en">
  <head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>\(title)</title>
  <style>
  \(pageStyle)
  </style>
  </head>
  <body>
  <header>
  <h1>\(title)</h1>
  <p id="summary"></p>
  <nav class="controls" aria-label="Steps">
  <button id="first" title="First step (Home)">« First</button>
  <button id="back" title="Step back (←)">◀ Back</button>
  <span id="position" aria-live="polite"></span>
  <button id="forward" title="Step forward (→)">Forward ▶</button>
  <button id="last" title="Last step (End)">Last »</button>
  </nav>
  </header>
  <main>
  <section id="picture" aria-label="The recorded graph"></section>
  <aside>
  <section id="step" aria-live="polite"></section>
  <section id="details"><p class="hint">Select a node (click, or Tab and Enter) to see any element of
  its value and gradient, and a parameter's chain-rule paths.</p></section>
  </aside>
  </main>
  <script id="data" type="application/json">\(data)</script>
  <script>
  \(pageScript)
  </script>
  </body>
  </html>

  """
}

private let pageStyle = """
  body { font-family: Helvetica, Arial, sans-serif; margin: 1em; color: #111; background: #fff; }
  h1 { font-size: 1.4em; margin: 0 0 0.3em; }
  header p { margin: 0.2em 0 0.6em; }
  .controls { display: flex; gap: 0.5em; align-items: center; flex-wrap: wrap; }
  .controls button { font-size: 1em; padding: 0.3em 0.8em; }
  #position { min-width: 12em; text-align: center; font-variant-numeric: tabular-nums; }
  main { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; margin-top: 0.8em; }
  #picture { flex: 1 1 560px; min-width: 320px; }
  #picture svg { height: auto; max-width: 100%; }
  aside { flex: 1 1 320px; max-width: 560px; }
  aside section { border: 1px solid #bbb; border-radius: 6px; padding: 0.6em 0.9em; margin-bottom: 1em; }
  .node rect { fill: #fff; stroke: #555; stroke-width: 1.2; }
  .node.parameter rect { fill: #dbe9ff; stroke: #1f4f99; stroke-width: 3; }
  .node.constant rect { fill: #f2f2f2; stroke-dasharray: 4 3; }
  .node.pending text.value { fill: #999; }
  .node.current rect { stroke: #b00; stroke-width: 4; }
  .node.reached rect { stroke: #b00; stroke-width: 2.5; stroke-dasharray: 2 2; }
  .node.selected rect { filter: drop-shadow(0 0 4px #444); }
  .node:focus { outline: none; }
  .node:focus rect { stroke: #000; stroke-width: 3; }
  .node text { font-size: 12px; }
  .node text.name { font-weight: bold; }
  .node text.grad { fill: #7a3e00; }
  .edge { stroke: #777; stroke-width: 1.2; fill: none; }
  .edge.active { stroke: #b00; stroke-width: 2.5; }
  table { border-collapse: collapse; }
  td, th { padding: 0.15em 0.5em; text-align: left; vertical-align: top; }
  .formula { font-family: Menlo, Consolas, monospace; }
  .hint { color: #555; }
  .sum { font-weight: bold; }
  @media print {
    .controls, .hint { display: none; }
    main { display: block; }
    aside { max-width: none; }
  }
  """

private let pageScript = """
  "use strict";
  const data = JSON.parse(document.getElementById("data").textContent);
  const nodes = data.nodes;
  const root = nodes.length - 1;
  const forwardCount = data.forward.length;
  const backwardCount = data.backward.length;
  const stepCount = 1 + forwardCount + backwardCount;
  const computedAt = nodes.map(n => n.operation === null ? 0 : -1);
  data.forward.forEach((node, k) => { computedAt[node] = k + 1; });
  const finalAt = nodes.map(() => -1);
  if (data.recorded) { finalAt[root] = forwardCount + 1; }
  data.backward.forEach((step, k) => {
    step.terms.forEach(term => { finalAt[term.input] = forwardCount + 1 + k; });
  });
  let selected = -1;
  let selectedElement = 0;

  function format(x) {
    const v = Number(x);
    if (Number.isNaN(v)) { return "NaN"; }
    if (v === Infinity) { return "∞"; }
    if (v === -Infinity) { return "−∞"; }
    if (v === 0) { return "0"; }
    const text = Math.abs(v) >= 1e-4 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(6))) : v.toExponential(5);
    return text.replace(/-/g, "−");
  }
  function summary(tensor) {
    const e = tensor.elements;
    if (tensor.count === 1) { return format(e[0]); }
    if (tensor.count <= 6) { return "[" + e.map(format).join(", ") + "]"; }
    return "[" + e.slice(0, 4).map(format).join(", ") + ", …] (" + tensor.count + " elements, norm " + format(tensor.norm) + ")";
  }
  function shapeText(shape) { return "[" + shape.join(", ") + "]"; }
  function multiIndex(flat, shape) {
    const index = [];
    for (let axis = shape.length - 1; axis >= 0; axis--) { index.unshift(flat % shape[axis]); flat = Math.floor(flat / shape[axis]); }
    return index;
  }
  function elementName(node, flat) {
    const n = nodes[node];
    return n.value.count === 1 ? n.name : n.name + "[" + multiIndex(flat, n.shape).join(", ") + "]";
  }
  function escape(text) {
    return String(text).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // The gradients after the first `applied` backward steps, summed here from the contributions:
  // at step s of the backward pass, its steps up to and including s.
  function gradientsAfter(applied) {
    const sums = new Map();
    if (!data.recorded || applied < 0) { return sums; }
    const seed = nodes[root].value;
    sums.set(root, { count: seed.count, elements: seed.elements.map(() => 1) });
    for (let k = 0; k < applied; k++) {
      for (const term of data.backward[k].terms) {
        const add = term.contribution.elements.map(Number);
        const before = sums.get(term.input);
        sums.set(term.input, {
          count: term.contribution.count,
          elements: before ? before.elements.map((x, i) => x + add[i]) : add,
          before: before,
        });
      }
    }
    for (const sum of sums.values()) { sum.norm = Math.sqrt(sum.elements.reduce((a, x) => a + x * x, 0)); }
    return sums;
  }

  function stepFromAddress() {
    const match = /step=(\\d+)/.exec(location.hash);
    const step = match ? parseInt(match[1], 10) : 0;
    return Math.min(Math.max(step, 0), stepCount - 1);
  }
  let step = stepFromAddress();

  function buildPicture() {
    const picture = document.getElementById("picture");
    if (!data.drawn) { buildGroups(picture); return; }
    const w = 170, h = 84;
    let svg = '<svg xmlns="http://www.w3.org/2000/svg" width="' + data.width + '" viewBox="0 0 ' + data.width + " " + data.height +
      '" role="img" aria-label="The recorded graph, inputs at the top">' +
      '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>';
    nodes.forEach((n, i) => {
      n.inputs.forEach((input, k) => {
        const a = nodes[input];
        svg += '<line class="edge" id="edge-' + input + "-" + i + '" x1="' + a.x + '" y1="' + (a.y + h / 2) +
          '" x2="' + n.x + '" y2="' + (n.y - h / 2) + '" marker-end="url(#arrow)"/>';
      });
    });
    nodes.forEach((n, i) => {
      const x = n.x - w / 2, y = n.y - h / 2;
      const operation = n.operation === null ? n.kind : n.operation;
      svg += '<g class="node ' + n.kind + '" id="node-' + i + '" tabindex="0" role="button" aria-label="' +
        escape(n.name) + '">' +
        '<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" rx="8"/>' +
        '<text class="name" x="' + (x + 8) + '" y="' + (y + 17) + '">' + escape(n.name) + "</text>" +
        '<text x="' + (x + 8) + '" y="' + (y + 34) + '">' + escape(operation) + " · " + shapeText(n.shape) + "</text>" +
        '<text class="value" id="value-' + i + '" x="' + (x + 8) + '" y="' + (y + 52) + '"></text>' +
        '<text class="grad" id="grad-' + i + '" x="' + (x + 8) + '" y="' + (y + 70) + '"></text></g>';
    });
    picture.innerHTML = svg + "</svg>";
    nodes.forEach((n, i) => {
      const g = document.getElementById("node-" + i);
      g.addEventListener("click", () => select(i));
      g.addEventListener("keydown", event => { if (event.key === "Enter" || event.key === " ") { select(i); event.preventDefault(); } });
    });
  }

  // A graph too large to draw node by node: one box per group (a repetition of its repeated
  // structure), and every node in a list below.
  function buildGroups(picture) {
    const w = 170, h = 84;
    let svg = '<p id="collapsed">The graph has ' + nodes.length + " nodes, too many to draw one by one: each box is " +
      "one repetition of its repeated structure (a layer), collapsed; every node is in the list below.</p>" +
      '<svg xmlns="http://www.w3.org/2000/svg" width="' + data.width + '" viewBox="0 0 ' + data.width + " " + data.height +
      '" role="img" aria-label="The recorded graph, collapsed">' +
      '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>';
    data.groups.forEach((g, k) => {
      g.inputs.forEach(input => {
        const a = data.groups[input];
        svg += '<line class="edge" x1="' + a.x + '" y1="' + (a.y + h / 2) + '" x2="' + g.x + '" y2="' + (g.y - h / 2) +
          '" marker-end="url(#arrow)"/>';
      });
    });
    data.groups.forEach((g, k) => {
      const x = g.x - w / 2, y = g.y - h / 2;
      svg += '<g class="node" id="group-' + k + '"><rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h +
        '" rx="8"/><text class="name" x="' + (x + 8) + '" y="' + (y + 17) + '">' + escape(clip(g.label)) + "</text>" +
        '<text x="' + (x + 8) + '" y="' + (y + 34) + '">' + g.members.length + " nodes</text>" +
        '<text class="value" id="group-value-' + k + '" x="' + (x + 8) + '" y="' + (y + 52) + '"></text>' +
        '<text class="grad" id="group-grad-' + k + '" x="' + (x + 8) + '" y="' + (y + 70) + '"></text></g>';
    });
    picture.innerHTML = svg + '</svg><details><summary>All ' + nodes.length + ' nodes</summary><div id="node-list"></div></details>';
  }

  function renderGroups(sums, currentNode) {
    data.groups.forEach((g, k) => {
      const output = g.members[g.members.length - 1];
      const n = nodes[output];
      const shown = computedAt[output] >= 0 && computedAt[output] <= step;
      const gradient = sums.get(output);
      const box = document.getElementById("group-" + k);
      const current = g.members.includes(currentNode);
      box.classList.toggle("current", current);
      box.classList.toggle("pending", !shown);
      box.querySelector("text.name").textContent = (current ? "▶ " : "") + clip(g.label);
      document.getElementById("group-value-" + k).textContent = clip(shown ? n.name + " " + summary(n.value) : "value ?");
      document.getElementById("group-grad-" + k).textContent =
        clip(finalAt[output] >= 0 && step >= finalAt[output] && gradient ? "∂L/∂ " + summary(gradient) : "");
    });
    document.getElementById("node-list").innerHTML = listText(sums);
  }

  function clip(text) { return text.length > 27 ? text.slice(0, 26) + "…" : text; }

  function render() {
    const sums = gradientsAfter(step - forwardCount);
    const currentForward = step >= 1 && step <= forwardCount ? data.forward[step - 1] : -1;
    const backwardStep = step > forwardCount ? data.backward[step - forwardCount - 1] : null;
    nodes.forEach((n, i) => {
      const shown = computedAt[i] >= 0 && computedAt[i] <= step;
      const final = finalAt[i] >= 0 && step >= finalAt[i];
      const gradient = sums.get(i);
      const g = document.getElementById("node-" + i);
      const valueText = shown ? "value " + summary(n.value) : "value ?";
      const gradText = final && gradient ? "∂L/∂ " + summary(gradient) : "";
      if (g) {
        g.classList.toggle("pending", !shown);
        const current = i === currentForward || (backwardStep !== null && backwardStep.node === i);
        g.classList.toggle("current", current);
        // Not by colour alone: the current node's name is marked, its inputs' borders dashed.
        g.querySelector("text.name").textContent = (current ? "▶ " : "") + n.name;
        g.classList.toggle("reached", backwardStep !== null && backwardStep.terms.some(t => t.input === i));
        g.classList.toggle("selected", i === selected);
        document.getElementById("value-" + i).textContent = clip(valueText);
        const gradNode = document.getElementById("grad-" + i);
        gradNode.textContent = clip(gradText);
        if (final && gradient) { gradNode.setAttribute("data-values", JSON.stringify(gradient.elements)); }
        else { gradNode.removeAttribute("data-values"); }
      }
      n.inputs.forEach(input => {
        const edge = document.getElementById("edge-" + input + "-" + i);
        if (edge) { edge.classList.toggle("active", backwardStep !== null && backwardStep.node === i); }
      });
    });
    document.getElementById("position").textContent = "Step " + step + " of " + (stepCount - 1) +
      (step === 0 ? " · the inputs" : step <= forwardCount ? " · forward" : " · backward");
    document.getElementById("back").disabled = step === 0;
    document.getElementById("first").disabled = step === 0;
    document.getElementById("forward").disabled = step === stepCount - 1;
    document.getElementById("last").disabled = step === stepCount - 1;
    document.getElementById("step").innerHTML = stepText(currentForward, backwardStep, sums);
    if (!data.drawn) { renderGroups(sums, currentForward >= 0 ? currentForward : backwardStep ? backwardStep.node : -1); }
    renderDetails(sums);
  }

  function stepText(currentForward, backwardStep, sums) {
    if (!data.recorded) { return "<p>Nothing was recorded behind " + escape(nodes[root].name) + ": there is no backward pass.</p>"; }
    if (step === 0) {
      return "<h2>The inputs</h2><p>The leaves hold their values. Step forward (→) to compute the graph in the order it was recorded.</p>";
    }
    if (currentForward >= 0) {
      const n = nodes[currentForward];
      return "<h2>Forward: " + escape(n.name) + "</h2><p><span class=\\"formula\\">" + escape(n.name) + " = " +
        escape(n.operation) + "(" + n.inputs.map(i => escape(nodes[i].name)).join(", ") + ")</span> = " + summary(n.value) + "</p>";
    }
    const n = nodes[backwardStep.node];
    let html = "<h2>Backward: through " + escape(n.operation) + " to " + escape(n.name) + "'s inputs</h2>" +
      "<p>Upstream gradient ∂L/∂" + escape(n.name) + " = " + summary(backwardStep.upstream) + "</p><table>";
    for (const term of backwardStep.terms) {
      const input = nodes[term.input];
      const local = term.symbol === null ? "0" :
        '<span class="formula">' + escape(term.symbol) + (term.formula === null ? "" : " = " + escape(term.formula)) +
        "</span> = " + format(term.local);
      html += "<tr><th>" + escape(input.name) + "</th><td>local derivative " + local + "<br>contribution: upstream × local = " +
        summary(term.contribution);
      if (term.adds) {
        const after = sums.get(term.input);
        html += '<br><span class="sum">used more than once: ' + summary(after.before) + " + " + summary(term.contribution) +
          " = " + summary(after) + "</span>";
      }
      html += "</td></tr>";
    }
    return html + "</table>";
  }

  function listText(sums) {
    let html = "<ol start=\\"0\\">";
    nodes.forEach((n, i) => {
      const gradient = sums.get(i);
      html += "<li>" + escape(n.name) + " · " + escape(n.operation === null ? n.kind : n.operation) + " · " + shapeText(n.shape) +
        (gradient && step >= finalAt[i] ? ' · <span id="grad-' + i + '" data-values="' + escape(JSON.stringify(gradient.elements)) +
          '">∂L/∂ ' + summary(gradient) + "</span>" : "") + "</li>";
    });
    return html + "</ol>";
  }

  function renderDetails(sums) {
    const details = document.getElementById("details");
    if (selected < 0) { return; }
    const n = nodes[selected];
    const count = n.value.count;
    const element = Math.min(selectedElement, count - 1);
    const held = element < n.value.elements.length;
    const gradient = sums.get(selected);
    const final = finalAt[selected] >= 0 && step >= finalAt[selected];
    let html = "<h2>" + escape(n.name) + "</h2><p>" + escape(n.operation === null ? n.kind : n.operation) + " · shape " +
      shapeText(n.shape) + "</p>";
    if (count > 1) {
      html += '<label>Element <input id="element" type="number" min="0" max="' + (count - 1) + '" value="' + element +
        '"></label> = ' + escape(elementName(selected, element));
    }
    html += "<p>value " + (held ? format(n.value.elements[element]) : "(not kept: " + count + " elements)") +
      "<br>∂L/∂ " + (final && gradient && held ? format(gradient.elements[element]) : "not final yet") + "</p>";
    const traces = data.traces.paths[String(selected)];
    const trace = traces ? traces[element] : undefined;
    if (trace) {
      html += "<h3>Chain-rule paths to " + escape(trace.element) + "</h3><ol>";
      for (const path of trace.paths) {
        html += "<li><span class=\\"formula\\">" + escape(path.elements.join(" ← ")) + "</span>: " +
          path.factors.map(f => escape(f.symbol) + (f.formula === null ? "" : " = " + escape(f.formula)) + " = " + format(f.value)).join(" × ") +
          " = " + format(path.product) + "</li>";
      }
      html += '</ol><p class="sum">Sum over paths ' + format(trace.sum) + "; the tape's gradient " + format(trace.tape) + "</p>";
    } else if (trace === null) {
      html += "<p>This element has too many chain-rule paths to list.</p>";
    }
    details.innerHTML = html;
    const input = document.getElementById("element");
    if (input) {
      input.addEventListener("change", () => {
        selectedElement = Math.min(Math.max(parseInt(input.value, 10) || 0, 0), count - 1);
        render();
      });
    }
  }

  function select(i) { selected = i; selectedElement = 0; render(); }

  function go(to) {
    step = Math.min(Math.max(to, 0), stepCount - 1);
    try { history.replaceState(null, "", "#step=" + step); } catch (error) { location.hash = "step=" + step; }
    render();
  }

  document.getElementById("first").addEventListener("click", () => go(0));
  document.getElementById("back").addEventListener("click", () => go(step - 1));
  document.getElementById("forward").addEventListener("click", () => go(step + 1));
  document.getElementById("last").addEventListener("click", () => go(stepCount - 1));
  document.addEventListener("keydown", event => {
    if (event.target instanceof HTMLInputElement) { return; }
    if (event.key === "ArrowRight") { go(step + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { go(step - 1); event.preventDefault(); }
    else if (event.key === "Home") { go(0); event.preventDefault(); }
    else if (event.key === "End") { go(stepCount - 1); event.preventDefault(); }
  });
  window.addEventListener("hashchange", () => { step = stepFromAddress(); render(); });
  document.getElementById("summary").textContent =
    nodes.length + " nodes; " + forwardCount + " operations forward and " + backwardCount + " backward" +
    (data.seed === null ? "." : "; the backward pass starts from a seed of " + data.seed + ", as backward(seed:) would.");
  buildPicture();
  render();

  // With "check" in the address (#step=N&check), the page steps through every step forward and
  // then back, compares what it showed each time, and says so in #self-check (for its tests).
  if (/check/.test(location.hash)) {
    const target = step;
    const signature = () => Array.from(document.querySelectorAll("[data-values]"))
      .map(e => e.id + "=" + e.getAttribute("data-values")).join(";") + "|" + document.getElementById("step").textContent;
    const shown = [];
    for (let s = 0; s < stepCount; s++) { step = s; render(); shown.push(signature()); }
    let problem = "";
    for (let s = stepCount - 1; s >= 0; s--) {
      step = s;
      render();
      if (!problem && signature() !== shown[s]) { problem = "stepping back shows something else at step " + s; }
    }
    step = target;
    render();
    const report = document.createElement("p");
    report.id = "self-check";
    report.hidden = true;
    report.textContent = problem || "consistent over " + stepCount + " steps";
    document.body.appendChild(report);
  }
  """
