// Vectorised elementwise functions: square roots of Float and Double arrays (the C library's
// sqrtf and sqrt are called per element and do not vectorise, because they may set errno), and
// e^x, erf x, and GELU and its derivative built from them, for Float arrays: AVX2+FMA eight at a
// time, AVX-512 sixteen and NEON four, all with the same bits, chosen at run time, and the C
// library's expf and erff on the portable path. The methods are those of Arm's
// optimized-routines (MIT or Apache-2.0 licence, github.com/ARM-software/optimized-routines),
// whose vector expf is within 1.5 ulp and vector erff within 2 ulp of the exact result.
//
// A tail shorter than a vector goes through the same vector code in a padded copy (or masked), so
// that an element's result does not depend on its position.

#include "BackpropKernels.h"

#include <math.h>
#include <string.h>

#include "cpu.h"

#if BP_X86 || BP_NEON
// erf(i/128) and 2/√π·e^(−(i/128)²) for i = 0 ... 512, rounded to Float. Each pair is read as
// one 8-byte element by the x86 gathers, so the pairs never straddle a cache line.
static const float erfTable[513 * 2] __attribute__((aligned(64))) = {
  0.000000000e+00f, 1.128379226e+00f, 8.815282956e-03f, 1.128310323e+00f,
  1.762948930e-02f, 1.128103733e+00f, 2.644154429e-02f, 1.127759457e+00f,
  3.525037318e-02f, 1.127277732e+00f, 4.405490309e-02f, 1.126658678e+00f,
  5.285405740e-02f, 1.125902534e+00f, 6.164677441e-02f, 1.125009537e+00f,
  7.043197751e-02f, 1.123980045e+00f, 7.920860499e-02f, 1.122814417e+00f,
  8.797559887e-02f, 1.121513009e+00f, 9.673189372e-02f, 1.120076537e+00f,
  1.054764464e-01f, 1.118505239e+00f, 1.142081916e-01f, 1.116799831e+00f,
  1.229260936e-01f, 1.114960909e+00f, 1.316291094e-01f, 1.112989187e+00f,
  1.403162032e-01f, 1.110885262e+00f, 1.489863545e-01f, 1.108649969e+00f,
  1.576385200e-01f, 1.106284261e+00f, 1.662717015e-01f, 1.103788733e+00f,
  1.748848855e-01f, 1.101164460e+00f, 1.834770590e-01f, 1.098412275e+00f,
  1.920472383e-01f, 1.095533252e+00f, 2.005944401e-01f, 1.092528343e+00f,
  2.091176808e-01f, 1.089398861e+00f, 2.176159769e-01f, 1.086145639e+00f,
  2.260883898e-01f, 1.082769871e+00f, 2.345339358e-01f, 1.079272985e+00f,
  2.429517061e-01f, 1.075655937e+00f, 2.513407469e-01f, 1.071920276e+00f,
  2.597001493e-01f, 1.068067074e+00f, 2.680290043e-01f, 1.064098001e+00f,
  2.763263881e-01f, 1.060014129e+00f, 2.845914364e-01f, 1.055817127e+00f,
  2.928232551e-01f, 1.051508307e+00f, 3.010209501e-01f, 1.047089219e+00f,
  3.091837168e-01f, 1.042561531e+00f, 3.173106909e-01f, 1.037926674e+00f,
  3.254010677e-01f, 1.033186197e+00f, 3.334539533e-01f, 1.028342009e+00f,
  3.414686322e-01f, 1.023395419e+00f, 3.494442701e-01f, 1.018348455e+00f,
  3.573800623e-01f, 1.013202667e+00f, 3.652752936e-01f, 1.007959723e+00f,
  3.731291890e-01f, 1.002621651e+00f, 3.809410036e-01f, 9.971899986e-01f,
  3.887100518e-01f, 9.916667342e-01f, 3.964355886e-01f, 9.860537648e-01f,
  4.041168988e-01f, 9.803528190e-01f, 4.117533565e-01f, 9.745658636e-01f,
  4.193442762e-01f, 9.686948061e-01f, 4.268890023e-01f, 9.627416134e-01f,
  4.343869090e-01f, 9.567081928e-01f, 4.418373704e-01f, 9.505965710e-01f,
  4.492397904e-01f, 9.444086552e-01f, 4.565935731e-01f, 9.381465316e-01f,
  4.638981223e-01f, 9.318121672e-01f, 4.711529315e-01f, 9.254075885e-01f,
  4.783574641e-01f, 9.189348817e-01f, 4.855111241e-01f, 9.123960137e-01f,
  4.926134646e-01f, 9.057931304e-01f, 4.996639788e-01f, 8.991282582e-01f,
  5.066621900e-01f, 8.924034834e-01f, 5.136076212e-01f, 8.856208920e-01f,
  5.204998851e-01f, 8.787825704e-01f, 5.273385048e-01f, 8.718906045e-01f,
  5.341230631e-01f, 8.649471402e-01f, 5.408531427e-01f, 8.579542041e-01f,
  5.475284457e-01f, 8.509138823e-01f, 5.541485548e-01f, 8.438283801e-01f,
  5.607131720e-01f, 8.366997242e-01f, 5.672218800e-01f, 8.295300007e-01f,
  5.736744404e-01f, 8.223213553e-01f, 5.800705552e-01f, 8.150758147e-01f,
  5.864099264e-01f, 8.077955842e-01f, 5.926922560e-01f, 8.004825711e-01f,
  5.989173651e-01f, 7.931389809e-01f, 6.050850153e-01f, 7.857668400e-01f,
  6.111949086e-01f, 7.783681750e-01f, 6.172469258e-01f, 7.709450722e-01f,
  6.232408881e-01f, 7.634995580e-01f, 6.291765571e-01f, 7.560335994e-01f,
  6.350538731e-01f, 7.485493422e-01f, 6.408725977e-01f, 7.410486937e-01f,
  6.466327310e-01f, 7.335336208e-01f, 6.523340344e-01f, 7.260061502e-01f,
  6.579765081e-01f, 7.184682488e-01f, 6.635600924e-01f, 7.109217644e-01f,
  6.690846682e-01f, 7.033687234e-01f, 6.745502353e-01f, 6.958109736e-01f,
  6.799566746e-01f, 6.882504225e-01f, 6.853041053e-01f, 6.806889176e-01f,
  6.905924678e-01f, 6.731283069e-01f, 6.958217621e-01f, 6.655704379e-01f,
  7.009920478e-01f, 6.580170989e-01f, 7.061032653e-01f, 6.504700184e-01f,
  7.111556530e-01f, 6.429310441e-01f, 7.161490917e-01f, 6.354019046e-01f,
  7.210838199e-01f, 6.278842688e-01f, 7.259598374e-01f, 6.203798652e-01f,
  7.307772636e-01f, 6.128903031e-01f, 7.355362773e-01f, 6.054172516e-01f,
  7.402369976e-01f, 5.979623199e-01f, 7.448794842e-01f, 5.905271173e-01f,
  7.494640350e-01f, 5.831131339e-01f, 7.539907098e-01f, 5.757219791e-01f,
  7.584597468e-01f, 5.683551431e-01f, 7.628713250e-01f, 5.610140562e-01f,
  7.672256827e-01f, 5.537002087e-01f, 7.715229392e-01f, 5.464150310e-01f,
  7.757634521e-01f, 5.391598940e-01f, 7.799474001e-01f, 5.319361091e-01f,
  7.840750813e-01f, 5.247450471e-01f, 7.881466746e-01f, 5.175880194e-01f,
  7.921624780e-01f, 5.104662776e-01f, 7.961227894e-01f, 5.033811331e-01f,
  8.000279069e-01f, 4.963336885e-01f, 8.038780689e-01f, 4.893251956e-01f,
  8.076736927e-01f, 4.823567569e-01f, 8.114150167e-01f, 4.754295349e-01f,
  8.151023984e-01f, 4.685445726e-01f, 8.187361360e-01f, 4.617029727e-01f,
  8.223166466e-01f, 4.549057484e-01f, 8.258441687e-01f, 4.481538832e-01f,
  8.293191791e-01f, 4.414483309e-01f, 8.327419162e-01f, 4.347900152e-01f,
  8.361128569e-01f, 4.281798601e-01f, 8.394323587e-01f, 4.216187596e-01f,
  8.427007794e-01f, 4.151074886e-01f, 8.459185362e-01f, 4.086469114e-01f,
  8.490860462e-01f, 4.022377729e-01f, 8.522036672e-01f, 3.958808184e-01f,
  8.552718163e-01f, 3.895767629e-01f, 8.582909107e-01f, 3.833263218e-01f,
  8.612614274e-01f, 3.771301210e-01f, 8.641837239e-01f, 3.709887564e-01f,
  8.670582771e-01f, 3.649028838e-01f, 8.698855042e-01f, 3.588730395e-01f,
  8.726658225e-01f, 3.528997302e-01f, 8.753997087e-01f, 3.469835222e-01f,
  8.780875802e-01f, 3.411248326e-01f, 8.807299137e-01f, 3.353241086e-01f,
  8.833271861e-01f, 3.295818269e-01f, 8.858798146e-01f, 3.238983154e-01f,
  8.883882165e-01f, 3.182739615e-01f, 8.908529878e-01f, 3.127090931e-01f,
  8.932744861e-01f, 3.072040379e-01f, 8.956531882e-01f, 3.017590344e-01f,
  8.979896307e-01f, 2.963743806e-01f, 9.002841711e-01f, 2.910502851e-01f,
  9.025374055e-01f, 2.857869267e-01f, 9.047497511e-01f, 2.805844843e-01f,
  9.069217443e-01f, 2.754431665e-01f, 9.090537429e-01f, 2.703630030e-01f,
  9.111462831e-01f, 2.653441727e-01f, 9.131999016e-01f, 2.603867054e-01f,
  9.152150154e-01f, 2.554906905e-01f, 9.171921015e-01f, 2.506561279e-01f,
  9.191316366e-01f, 2.458830178e-01f, 9.210341573e-01f, 2.411713600e-01f,
  9.229001403e-01f, 2.365211248e-01f, 9.247300029e-01f, 2.319322377e-01f,
  9.265242219e-01f, 2.274046093e-01f, 9.282833338e-01f, 2.229381651e-01f,
  9.300078154e-01f, 2.185327709e-01f, 9.316980839e-01f, 2.141882628e-01f,
  9.333546758e-01f, 2.099045217e-01f, 9.349780083e-01f, 2.056813389e-01f,
  9.365685582e-01f, 2.015185207e-01f, 9.381268620e-01f, 1.974158436e-01f,
  9.396533370e-01f, 1.933730990e-01f, 9.411484599e-01f, 1.893900186e-01f,
  9.426127076e-01f, 1.854663491e-01f, 9.440465569e-01f, 1.816017926e-01f,
  9.454504251e-01f, 1.777960509e-01f, 9.468247890e-01f, 1.740488261e-01f,
  9.481700659e-01f, 1.703597754e-01f, 9.494867921e-01f, 1.667285562e-01f,
  9.507753849e-01f, 1.631548256e-01f, 9.520362020e-01f, 1.596382111e-01f,
  9.532698393e-01f, 1.561783254e-01f, 9.544766545e-01f, 1.527747661e-01f,
  9.556571245e-01f, 1.494271457e-01f, 9.568116069e-01f, 1.461350471e-01f,
  9.579405785e-01f, 1.428980231e-01f, 9.590445161e-01f, 1.397156566e-01f,
  9.601237774e-01f, 1.365874708e-01f, 9.611788392e-01f, 1.335130334e-01f,
  9.622100592e-01f, 1.304918677e-01f, 9.632179141e-01f, 1.275235116e-01f,
  9.642027617e-01f, 1.246074438e-01f, 9.651650786e-01f, 1.217432097e-01f,
  9.661051631e-01f, 1.189302877e-01f, 9.670234919e-01f, 1.161681786e-01f,
  9.679204226e-01f, 1.134563684e-01f, 9.687963724e-01f, 1.107943431e-01f,
  9.696516991e-01f, 1.081815660e-01f, 9.704868197e-01f, 1.056175083e-01f,
  9.713020921e-01f, 1.031016335e-01f, 9.720978737e-01f, 1.006334051e-01f,
  9.728746414e-01f, 9.821227938e-02f, 9.736325741e-01f, 9.583770484e-02f,
  9.743722081e-01f, 9.350912273e-02f, 9.750937819e-01f, 9.122598171e-02f,
  9.757977128e-01f, 8.898772299e-02f, 9.764843583e-01f, 8.679378778e-02f,
  9.771540165e-01f, 8.464360982e-02f, 9.778069854e-01f, 8.253662288e-02f,
  9.784437418e-01f, 8.047226071e-02f, 9.790645242e-01f, 7.844994962e-02f,
  9.796696305e-01f, 7.646913081e-02f, 9.802594185e-01f, 7.452922314e-02f,
  9.808342457e-01f, 7.262966782e-02f, 9.813943505e-01f, 7.076988369e-02f,
  9.819401503e-01f, 6.894930452e-02f, 9.824718237e-01f, 6.716735661e-02f,
  9.829897285e-01f, 6.542348117e-02f, 9.834941626e-01f, 6.371710449e-02f,
  9.839853644e-01f, 6.204765663e-02f, 9.844637513e-01f, 6.041457504e-02f,
  9.849294424e-01f, 5.881729722e-02f, 9.853828549e-01f, 5.725525692e-02f,
  9.858241677e-01f, 5.572789907e-02f, 9.862536788e-01f, 5.423466116e-02f,
  9.866716862e-01f, 5.277499557e-02f, 9.870783687e-01f, 5.134834722e-02f,
  9.874740839e-01f, 4.995416477e-02f, 9.878590107e-01f, 4.859190434e-02f,
  9.882333875e-01f, 4.726102576e-02f, 9.885975122e-01f, 4.596098512e-02f,
  9.889516234e-01f, 4.469124973e-02f, 9.892958999e-01f, 4.345129058e-02f,
  9.896306396e-01f, 4.224057496e-02f, 9.899560213e-01f, 4.105858505e-02f,
  9.902722239e-01f, 3.990479559e-02f, 9.905796051e-01f, 3.877869621e-02f,
  9.908782244e-01f, 3.767977282e-02f, 9.911683798e-01f, 3.660752624e-02f,
  9.914503098e-01f, 3.556144610e-02f, 9.917241335e-01f, 3.454104438e-02f,
  9.919900298e-01f, 3.354582936e-02f, 9.922483563e-01f, 3.257530928e-02f,
  9.924991131e-01f, 3.162900731e-02f, 9.927425981e-01f, 3.070644476e-02f,
  9.929789305e-01f, 2.980715409e-02f, 9.932084084e-01f, 2.893066965e-02f,
  9.934310317e-01f, 2.807652950e-02f, 9.936471581e-01f, 2.724428289e-02f,
  9.938567877e-01f, 2.643347718e-02f, 9.940602183e-01f, 2.564367093e-02f,
  9.942575693e-01f, 2.487442642e-02f, 9.944489598e-01f, 2.412531339e-02f,
  9.946345687e-01f, 2.339590341e-02f, 9.948145747e-01f, 2.268577740e-02f,
  9.949890375e-01f, 2.199452184e-02f, 9.951582551e-01f, 2.132172510e-02f,
  9.953222871e-01f, 2.066698484e-02f, 9.954812527e-01f, 2.002990618e-02f,
  9.956352711e-01f, 1.941009611e-02f, 9.957845807e-01f, 1.880717091e-02f,
  9.959291816e-01f, 1.822074875e-02f, 9.960693121e-01f, 1.765045710e-02f,
  9.962050319e-01f, 1.709592715e-02f, 9.963364601e-01f, 1.655679755e-02f,
  9.964637756e-01f, 1.603271440e-02f, 9.965869784e-01f, 1.552332379e-02f,
  9.967063665e-01f, 1.502828393e-02f, 9.968218803e-01f, 1.454725396e-02f,
  9.969336987e-01f, 1.407990325e-02f, 9.970418811e-01f, 1.362590212e-02f,
  9.971466064e-01f, 1.318493113e-02f, 9.972479343e-01f, 1.275667455e-02f,
  9.973459840e-01f, 1.234082039e-02f, 9.974408150e-01f, 1.193706598e-02f,
  9.975325465e-01f, 1.154511143e-02f, 9.976212382e-01f, 1.116466429e-02f,
  9.977070093e-01f, 1.079543587e-02f, 9.977899194e-01f, 1.043714397e-02f,
  9.978700876e-01f, 1.008951198e-02f, 9.979476333e-01f, 9.752268903e-03f,
  9.980224967e-01f, 9.425146505e-03f, 9.980949163e-01f, 9.107884951e-03f,
  9.981648326e-01f, 8.800229058e-03f, 9.982324243e-01f, 8.501927368e-03f,
  9.982976913e-01f, 8.212734945e-03f, 9.983607531e-01f, 7.932410575e-03f,
  9.984216690e-01f, 7.660719100e-03f, 9.984804988e-01f, 7.397430483e-03f,
  9.985373020e-01f, 7.142318878e-03f, 9.985921383e-01f, 6.895163562e-03f,
  9.986450672e-01f, 6.655748002e-03f, 9.986961484e-01f, 6.423861720e-03f,
  9.987454414e-01f, 6.199297495e-03f, 9.987930059e-01f, 5.981853232e-03f,
  9.988389015e-01f, 5.771331023e-03f, 9.988831878e-01f, 5.567538552e-03f,
  9.989259243e-01f, 5.370286759e-03f, 9.989671111e-01f, 5.179390777e-03f,
  9.990068674e-01f, 4.994670860e-03f, 9.990451932e-01f, 4.815950990e-03f,
  9.990821481e-01f, 4.643059336e-03f, 9.991177320e-01f, 4.475827795e-03f,
  9.991520643e-01f, 4.314092919e-03f, 9.991851449e-01f, 4.157694988e-03f,
  9.992170334e-01f, 4.006478004e-03f, 9.992477894e-01f, 3.860289231e-03f,
  9.992774129e-01f, 3.718980588e-03f, 9.993059039e-01f, 3.582407488e-03f,
  9.993333817e-01f, 3.450428601e-03f, 9.993598461e-01f, 3.322906094e-03f,
  9.993852973e-01f, 3.199706320e-03f, 9.994098544e-01f, 3.080697963e-03f,
  9.994334579e-01f, 2.965753898e-03f, 9.994561672e-01f, 2.854750026e-03f,
  9.994781017e-01f, 2.747565508e-03f, 9.994991422e-01f, 2.644082531e-03f,
  9.995194077e-01f, 2.544186544e-03f, 9.995388985e-01f, 2.447765786e-03f,
  9.995576739e-01f, 2.354711993e-03f, 9.995756745e-01f, 2.264918992e-03f,
  9.995930195e-01f, 2.178284340e-03f, 9.996097088e-01f, 2.094707685e-03f,
  9.996258020e-01f, 2.014091704e-03f, 9.996412396e-01f, 1.936342102e-03f,
  9.996560216e-01f, 1.861366560e-03f, 9.996703267e-01f, 1.789075788e-03f,
  9.996840358e-01f, 1.719382592e-03f, 9.996971488e-01f, 1.652202569e-03f,
  9.997098446e-01f, 1.587453648e-03f, 9.997220039e-01f, 1.525056083e-03f,
  9.997336864e-01f, 1.464932226e-03f, 9.997448921e-01f, 1.407006988e-03f,
  9.997556806e-01f, 1.351207262e-03f, 9.997659922e-01f, 1.297462033e-03f,
  9.997759461e-01f, 1.245702500e-03f, 9.997854829e-01f, 1.195861842e-03f,
  9.997946024e-01f, 1.147875097e-03f, 9.998034239e-01f, 1.101679518e-03f,
  9.998118281e-01f, 1.057213987e-03f, 9.998199344e-01f, 1.014419249e-03f,
  9.998276830e-01f, 9.732380859e-04f, 9.998351336e-01f, 9.336146759e-04f,
  9.998422861e-01f, 8.954951190e-04f, 9.998491406e-01f, 8.588271448e-04f,
  9.998556972e-01f, 8.235601126e-04f, 9.998620152e-01f, 7.896448951e-04f,
  9.998680353e-01f, 7.570338785e-04f, 9.998738170e-01f, 7.256810786e-04f,
  9.998794198e-01f, 6.955419085e-04f, 9.998847246e-01f, 6.665730616e-04f,
  9.998897910e-01f, 6.387327448e-04f, 9.998946786e-01f, 6.119805621e-04f,
  9.998993874e-01f, 5.862772232e-04f, 9.999038577e-01f, 5.615849514e-04f,
  9.999081492e-01f, 5.378669011e-04f, 9.999122620e-01f, 5.150877405e-04f,
  9.999161959e-01f, 4.932130687e-04f, 9.999199510e-01f, 4.722097074e-04f,
  9.999235868e-01f, 4.520455841e-04f, 9.999270439e-01f, 4.326897033e-04f,
  9.999303222e-01f, 4.141120298e-04f, 9.999335408e-01f, 3.962836345e-04f,
  9.999365211e-01f, 3.791764902e-04f, 9.999394417e-01f, 3.627635597e-04f,
  9.999421835e-01f, 3.470187366e-04f, 9.999448657e-01f, 3.319167299e-04f,
  9.999474287e-01f, 3.174332087e-04f, 9.999498129e-01f, 3.035446280e-04f,
  9.999521375e-01f, 2.902282868e-04f, 9.999543428e-01f, 2.774622408e-04f,
  9.999564886e-01f, 2.652253606e-04f, 9.999585152e-01f, 2.534972155e-04f,
  9.999604225e-01f, 2.422581165e-04f, 9.999622703e-01f, 2.314890444e-04f,
  9.999640584e-01f, 2.211716928e-04f, 9.999657273e-01f, 2.112883813e-04f,
  9.999673367e-01f, 2.018220839e-04f, 9.999688864e-01f, 1.927563717e-04f,
  9.999703765e-01f, 1.840754121e-04f, 9.999718070e-01f, 1.757639548e-04f,
  9.999731183e-01f, 1.678072877e-04f, 9.999744296e-01f, 1.601912663e-04f,
  9.999756217e-01f, 1.529022265e-04f, 9.999768138e-01f, 1.459270425e-04f,
  9.999778867e-01f, 1.392530539e-04f, 9.999789596e-01f, 1.328680810e-04f,
  9.999799728e-01f, 1.267603948e-04f, 9.999809265e-01f, 1.209187103e-04f,
  9.999818802e-01f, 1.153321500e-04f, 9.999827743e-01f, 1.099902729e-04f,
  9.999836087e-01f, 1.048830090e-04f, 9.999843836e-01f, 1.000006887e-04f,
  9.999851584e-01f, 9.533400589e-05f, 9.999858737e-01f, 9.087400394e-05f,
  9.999865890e-01f, 8.661207539e-05f, 9.999872446e-01f, 8.253996202e-05f,
  9.999878407e-01f, 7.864969666e-05f, 9.999884963e-01f, 7.493363228e-05f,
  9.999890327e-01f, 7.138444198e-05f, 9.999895692e-01f, 6.799504627e-05f,
  9.999901056e-01f, 6.475868577e-05f, 9.999905825e-01f, 6.166883395e-05f,
  9.999910593e-01f, 5.871923713e-05f, 9.999915361e-01f, 5.590389628e-05f,
  9.999919534e-01f, 5.321704521e-05f, 9.999923706e-01f, 5.065314326e-05f,
  9.999927282e-01f, 4.820688264e-05f, 9.999930859e-01f, 4.587315925e-05f,
  9.999934435e-01f, 4.364708730e-05f, 9.999938011e-01f, 4.152397014e-05f,
  9.999940991e-01f, 3.949930397e-05f, 9.999943972e-01f, 3.756877049e-05f,
  9.999946952e-01f, 3.572823334e-05f, 9.999949336e-01f, 3.397371984e-05f,
  9.999952316e-01f, 3.230141738e-05f, 9.999954700e-01f, 3.070768798e-05f,
  9.999957085e-01f, 2.918902464e-05f, 9.999959469e-01f, 2.774208406e-05f,
  9.999961257e-01f, 2.636365025e-05f, 9.999963045e-01f, 2.505064913e-05f,
  9.999965429e-01f, 2.380013393e-05f, 9.999967217e-01f, 2.260928522e-05f,
  9.999969006e-01f, 2.147539817e-05f, 9.999970198e-01f, 2.039588799e-05f,
  9.999971986e-01f, 1.936827721e-05f, 9.999973178e-01f, 1.839019569e-05f,
  9.999974966e-01f, 1.745937516e-05f, 9.999976158e-01f, 1.657364555e-05f,
  9.999977350e-01f, 1.573092777e-05f, 9.999978542e-01f, 1.492923820e-05f,
  9.999979734e-01f, 1.416667510e-05f, 9.999980927e-01f, 1.344142220e-05f,
  9.999982119e-01f, 1.275174054e-05f, 9.999982715e-01f, 1.209597031e-05f,
  9.999983907e-01f, 1.147252351e-05f, 9.999984503e-01f, 1.087988130e-05f,
  9.999985695e-01f, 1.031659485e-05f, 9.999986291e-01f, 9.781277186e-06f,
  9.999986887e-01f, 9.272604075e-06f, 9.999987483e-01f, 8.789312233e-06f,
  9.999988079e-01f, 8.330192031e-06f, 9.999989271e-01f, 7.894091141e-06f,
  9.999989867e-01f, 7.479908163e-06f, 9.999989867e-01f, 7.086591268e-06f,
  9.999990463e-01f, 6.713136372e-06f, 9.999991059e-01f, 6.358585779e-06f,
  9.999991655e-01f, 6.022025445e-06f, 9.999992251e-01f, 5.702583167e-06f,
  9.999992847e-01f, 5.399426755e-06f, 9.999992847e-01f, 5.111762675e-06f,
  9.999993443e-01f, 4.838833320e-06f, 9.999993443e-01f, 4.579917459e-06f,
  9.999994040e-01f, 4.334326604e-06f, 9.999994636e-01f, 4.101404102e-06f,
  9.999994636e-01f, 3.880525128e-06f, 9.999995232e-01f, 3.671093509e-06f,
  9.999995232e-01f, 3.472540811e-06f, 9.999995828e-01f, 3.284325885e-06f,
  9.999995828e-01f, 3.105933502e-06f, 9.999995828e-01f, 2.936871851e-06f,
  9.999996424e-01f, 2.776673682e-06f, 9.999996424e-01f, 2.624893568e-06f,
  9.999996424e-01f, 2.481107231e-06f, 9.999997020e-01f, 2.344910854e-06f,
  9.999997020e-01f, 2.215920176e-06f, 9.999997020e-01f, 2.093769808e-06f,
  9.999997616e-01f, 1.978111186e-06f, 9.999997616e-01f, 1.868613253e-06f,
  9.999997616e-01f, 1.764961212e-06f, 9.999997616e-01f, 1.666855269e-06f,
  9.999998212e-01f, 1.574010412e-06f, 9.999998212e-01f, 1.486155725e-06f,
  9.999998212e-01f, 1.403033366e-06f, 9.999998212e-01f, 1.324398454e-06f,
  9.999998212e-01f, 1.250018045e-06f, 9.999998212e-01f, 1.179671131e-06f,
  9.999998808e-01f, 1.113147050e-06f, 9.999998808e-01f, 1.050246283e-06f,
  9.999998808e-01f, 9.907789718e-07f, 9.999998808e-01f, 9.345646390e-07f,
  9.999998808e-01f, 8.814321859e-07f, 9.999998808e-01f, 8.312189834e-07f,
  9.999998808e-01f, 7.837706448e-07f, 9.999998808e-01f, 7.389405710e-07f,
  9.999999404e-01f, 6.965896659e-07f, 9.999999404e-01f, 6.565858257e-07f,
  9.999999404e-01f, 6.188038242e-07f, 9.999999404e-01f, 5.831247449e-07f,
  9.999999404e-01f, 5.494357538e-07f, 9.999999404e-01f, 5.176298714e-07f,
  9.999999404e-01f, 4.876056892e-07f, 9.999999404e-01f, 4.592669143e-07f,
  9.999999404e-01f, 4.325223415e-07f, 9.999999404e-01f, 4.072854836e-07f,
  9.999999404e-01f, 3.834743438e-07f, 9.999999404e-01f, 3.610111889e-07f,
  9.999999404e-01f, 3.398223782e-07f, 9.999999404e-01f, 3.198381648e-07f,
  9.999999404e-01f, 3.009924399e-07f, 9.999999404e-01f, 2.832225903e-07f,
  9.999999404e-01f, 2.664693000e-07f, 9.999999404e-01f, 2.506763792e-07f,
  1.000000000e+00f, 2.357907078e-07f, 1.000000000e+00f, 2.217618942e-07f,
  1.000000000e+00f, 2.085422892e-07f, 1.000000000e+00f, 1.960867877e-07f,
  1.000000000e+00f, 1.843527002e-07f, 1.000000000e+00f, 1.732996537e-07f,
  1.000000000e+00f, 1.628894069e-07f, 1.000000000e+00f, 1.530858356e-07f,
  1.000000000e+00f, 1.438547201e-07f, 1.000000000e+00f, 1.351637593e-07f,
  1.000000000e+00f, 1.269823429e-07f,
};
#endif

#if BP_X86

// e^x = 2^n·(1 + p(r)), x = n·ln 2 + r with |r| ≤ ln 2 / 2, p of degree 5.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 exp8(__m256 x) {
  const __m256 shift = _mm256_set1_ps(0x1.8p23f);
  __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
  __m256 n = _mm256_sub_ps(z, shift);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), r);
  __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  __m256 scale = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
  __m256 r2 = _mm256_mul_ps(r, r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), r, _mm256_set1_ps(0x1.573e2ep-5f));
  __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), r, _mm256_set1_ps(0x1.fffdb6p-2f));
  q = _mm256_fmadd_ps(p, r2, q);
  p = _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), r);
  __m256 poly = _mm256_fmadd_ps(q, r2, p);
  __m256 y = _mm256_fmadd_ps(poly, scale, scale);
  // Below −104 the result rounds to 0, above 89 it overflows; NaN has propagated. Lanes in
  // between whose 2^n leaves the normal range (|x| > 87) take expf.
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-104.0f), _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, _mm256_set1_ps(89.0f), _CMP_GT_OQ));
  __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  __m256 edge = _mm256_and_ps(_mm256_cmp_ps(magnitude, _mm256_set1_ps(87.0f), _CMP_GT_OQ),
                              _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(-104.0f), _CMP_GE_OQ),
                                            _mm256_cmp_ps(x, _mm256_set1_ps(89.0f), _CMP_LE_OQ)));
  if (_mm256_movemask_ps(edge)) {
    float in[8], out[8];
    _mm256_storeu_ps(in, x);
    _mm256_storeu_ps(out, y);
    for (int l = 0; l < 8; l++)
      if (fabsf(in[l]) > 87.0f && in[l] >= -104.0f && in[l] <= 89.0f) out[l] = expf(in[l]);
    y = _mm256_loadu_ps(out);
  }
  return y;
}

// erf |x| ≈ erf r + s(r)·d·(1 − r·d − d²/3), r = |x| rounded to a multiple of 1/128, d = |x| − r,
// s(r) = 2/√π·e^(−r²) from the table; 1 beyond 3.9375 and for infinities; the sign copied back.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 erf8(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f), shift = _mm256_set1_ps(0x1p16f);
  __m256 a = _mm256_andnot_ps(sign, x);
  __m256 large = _mm256_cmp_ps(a, _mm256_set1_ps(3.9375f), _CMP_GT_OQ);
  __m256 z = _mm256_add_ps(a, shift);
  __m256i i = _mm256_sub_epi32(_mm256_castps_si256(z), _mm256_castps_si256(shift));
  i = _mm256_min_epu32(i, _mm256_set1_epi32(512));
  // Each entry's pair (erf r, s(r)) as one 8-byte element: two gathers of four pairs, split into
  // the eight values and the eight scales. Gathering the values and the scales apart took two
  // gathers of eight; gathers cost per element on Zen 4 and Intel alike.
  __m256d pairsLow = _mm256_i32gather_pd((const double *)erfTable, _mm256_castsi256_si128(i), 8);
  __m256d pairsHigh = _mm256_i32gather_pd((const double *)erfTable, _mm256_extracti128_si256(i, 1), 8);
  // [e0 s0 e1 s1 | e2 s2 e3 s3] and [e4 s4 e5 s5 | e6 s6 e7 s7] -> evens and odds, in order.
  __m256 lo = _mm256_castpd_ps(pairsLow), hi = _mm256_castpd_ps(pairsHigh);
  __m256 evens = _mm256_shuffle_ps(lo, hi, 0x88), odds = _mm256_shuffle_ps(lo, hi, 0xDD);
  // evens = e0 e1 e4 e5 | e2 e3 e6 e7 -> e0 e1 e2 e3 e4 e5 e6 e7
  __m256 erfR = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(evens), 0xD8));
  __m256 scale = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(odds), 0xD8));
  __m256 r = _mm256_sub_ps(z, shift);
  __m256 d = _mm256_sub_ps(a, r);
  __m256 d2 = _mm256_mul_ps(d, d);
  __m256 y = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555556p-2f), d, r);
  y = _mm256_fmadd_ps(scale, _mm256_fnmadd_ps(d2, y, d), erfR);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(1.0f), large);
  return _mm256_or_ps(y, _mm256_and_ps(sign, x));
}

#define MAP8(NAME, VECTOR)                                                                         \
  __attribute__((target("avx2,fma"))) static void NAME(const float *x, float *y, ptrdiff_t n) {    \
    ptrdiff_t i = 0;                                                                               \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, VECTOR(_mm256_loadu_ps(x + i)));           \
    if (i < n) {                                                                                   \
      float in[8] = {0}, out[8];                                                                   \
      memcpy(in, x + i, sizeof(float) * (size_t)(n - i));                                          \
      _mm256_storeu_ps(out, VECTOR(_mm256_loadu_ps(in)));                                          \
      memcpy(y + i, out, sizeof(float) * (size_t)(n - i));                                         \
    }                                                                                              \
  }
// GELU, x·Φ(x) = ½x(1 + erf(x/√2)), and its derivative Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) +
// x·e^(−x²/2)/√(2π), from the vectors above.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 gelu8(__m256 x) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(one, erf8(_mm256_mul_ps(x, _mm256_set1_ps(0x1.6a09e6p-1f)))));
  return _mm256_mul_ps(x, cdf);
}

__attribute__((target("avx2,fma"), always_inline)) static inline __m256 geluDerivative8(__m256 x) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(one, erf8(_mm256_mul_ps(x, _mm256_set1_ps(0x1.6a09e6p-1f)))));
  __m256 density = exp8(_mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(-0.5f)));
  return _mm256_fmadd_ps(_mm256_mul_ps(x, density), _mm256_set1_ps(0x1.988454p-2f), cdf);
}

__attribute__((target("avx"))) static void sqrtFloats(const float *x, float *y, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
  for (; i < n; i++) y[i] = _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x[i])));
}

__attribute__((target("avx"))) static void sqrtDoubles(const double *x, double *y, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
  for (; i < n; i++) y[i] = _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd(x[i])));
}

MAP8(exp8Array, exp8)
MAP8(erf8Array, erf8)
MAP8(gelu8Array, gelu8)
MAP8(geluDerivative8Array, geluDerivative8)

// The same functions sixteen at a time with AVX-512: the same operations in the same order on
// each lane (masks where AVX2 blends), so the bits are those of the AVX2 versions. A tail goes
// through masked loads and stores, with zeros in the other lanes, as the AVX2 padded copy does.
#define AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))

AVX512 static __m512 exp16(__m512 x) {
  const __m512 shift = _mm512_set1_ps(0x1.8p23f);
  __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift);
  __m512 n = _mm512_sub_ps(z, shift);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), r);
  __m512i e = _mm512_slli_epi32(_mm512_castps_si512(z), 23);
  __m512 scale = _mm512_castsi512_ps(_mm512_add_epi32(e, _mm512_castps_si512(_mm512_set1_ps(1.0f))));
  __m512 r2 = _mm512_mul_ps(r, r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), r, _mm512_set1_ps(0x1.573e2ep-5f));
  __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), r, _mm512_set1_ps(0x1.fffdb6p-2f));
  q = _mm512_fmadd_ps(p, r2, q);
  p = _mm512_mul_ps(_mm512_set1_ps(0x1.ffffecp-1f), r);
  __m512 poly = _mm512_fmadd_ps(q, r2, p);
  __m512 y = _mm512_fmadd_ps(poly, scale, scale);
  __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.0f), _CMP_LT_OQ);
  __mmask16 over = _mm512_cmp_ps_mask(x, _mm512_set1_ps(89.0f), _CMP_GT_OQ);
  y = _mm512_mask_blend_ps(under, y, _mm512_setzero_ps());
  y = _mm512_mask_blend_ps(over, y, _mm512_set1_ps(__builtin_inff()));
  __mmask16 edge = _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(87.0f), _CMP_GT_OQ) &
                   _mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.0f), _CMP_GE_OQ) &
                   _mm512_cmp_ps_mask(x, _mm512_set1_ps(89.0f), _CMP_LE_OQ);
  if (edge) {
    float in[16], out[16];
    _mm512_storeu_ps(in, x);
    _mm512_storeu_ps(out, y);
    for (int l = 0; l < 16; l++)
      if (edge >> l & 1) out[l] = expf(in[l]);
    y = _mm512_loadu_ps(out);
  }
  return y;
}

AVX512 static __m512 erf16(__m512 x) {
  const __m512 shift = _mm512_set1_ps(0x1p16f);
  __m512 a = _mm512_abs_ps(x);
  __mmask16 large = _mm512_cmp_ps_mask(a, _mm512_set1_ps(3.9375f), _CMP_GT_OQ);
  __m512 z = _mm512_add_ps(a, shift);
  __m512i i = _mm512_sub_epi32(_mm512_castps_si512(z), _mm512_castps_si512(shift));
  i = _mm512_min_epu32(i, _mm512_set1_epi32(512));
  // The pairs as 8-byte elements, as in erf8: two gathers of eight pairs, split by permutes.
  __m512d pairsLow = _mm512_i32gather_pd(_mm512_castsi512_si256(i), (const double *)erfTable, 8);
  __m512d pairsHigh = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(i, 1), (const double *)erfTable, 8);
  __m512 lo = _mm512_castpd_ps(pairsLow), hi = _mm512_castpd_ps(pairsHigh);
  __m512i evenIndex = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  __m512i oddIndex = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __m512 erfR = _mm512_permutex2var_ps(lo, evenIndex, hi), scale = _mm512_permutex2var_ps(lo, oddIndex, hi);
  __m512 r = _mm512_sub_ps(z, shift);
  __m512 d = _mm512_sub_ps(a, r);
  __m512 d2 = _mm512_mul_ps(d, d);
  __m512 y = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555556p-2f), d, r);
  y = _mm512_fmadd_ps(scale, _mm512_fnmadd_ps(d2, y, d), erfR);
  y = _mm512_mask_blend_ps(large, y, _mm512_set1_ps(1.0f));
  return _mm512_or_ps(y, _mm512_and_ps(_mm512_set1_ps(-0.0f), x));
}

AVX512 static __m512 gelu16(__m512 x) {
  const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
  __m512 cdf = _mm512_mul_ps(half, _mm512_add_ps(one, erf16(_mm512_mul_ps(x, _mm512_set1_ps(0x1.6a09e6p-1f)))));
  return _mm512_mul_ps(x, cdf);
}

AVX512 static __m512 geluDerivative16(__m512 x) {
  const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
  __m512 cdf = _mm512_mul_ps(half, _mm512_add_ps(one, erf16(_mm512_mul_ps(x, _mm512_set1_ps(0x1.6a09e6p-1f)))));
  __m512 density = exp16(_mm512_mul_ps(_mm512_mul_ps(x, x), _mm512_set1_ps(-0.5f)));
  return _mm512_fmadd_ps(_mm512_mul_ps(x, density), _mm512_set1_ps(0x1.988454p-2f), cdf);
}

#define MAP16(NAME, VECTOR)                                                                        \
  AVX512 static void NAME(const float *x, float *y, ptrdiff_t n) {                                 \
    ptrdiff_t i = 0;                                                                               \
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, VECTOR(_mm512_loadu_ps(x + i)));         \
    if (i < n) {                                                                                   \
      __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);                                           \
      _mm512_mask_storeu_ps(y + i, tail, VECTOR(_mm512_maskz_loadu_ps(tail, x + i)));              \
    }                                                                                              \
  }
AVX512 static void sqrtFloats16(const float *x, float *y, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_sqrt_ps(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, tail, _mm512_sqrt_ps(_mm512_maskz_loadu_ps(tail, x + i)));
  }
}

AVX512 static void sqrtDoubles8(const double *x, double *y, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) _mm512_storeu_pd(y + i, _mm512_sqrt_pd(_mm512_loadu_pd(x + i)));
  if (i < n) {
    __mmask8 tail = (__mmask8)((1u << (n - i)) - 1);
    _mm512_mask_storeu_pd(y + i, tail, _mm512_sqrt_pd(_mm512_maskz_loadu_pd(tail, x + i)));
  }
}

MAP16(exp16Array, exp16)
MAP16(erf16Array, erf16)
MAP16(gelu16Array, gelu16)
MAP16(geluDerivative16Array, geluDerivative16)
#endif

#if BP_NEON
// e^x, erf and GELU four at a time with NEON: the same operations in the same order on each lane
// as the AVX2 versions (NEON's FMLA and FMLS are fused too), so the same bits; the table
// look-ups of erf are four scalar loads, NEON having no gather.
static float32x4_t expNEON(float32x4_t x) {
  const float32x4_t shift = vdupq_n_f32(0x1.8p23f);
  float32x4_t z = vfmaq_f32(shift, x, vdupq_n_f32(0x1.715476p+0f));
  float32x4_t n = vsubq_f32(z, shift);
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0x1.62e4p-1f));
  r = vfmsq_f32(r, n, vdupq_n_f32(0x1.7f7d1cp-20f));
  int32x4_t e = vshlq_n_s32(vreinterpretq_s32_f32(z), 23);
  float32x4_t scale = vreinterpretq_f32_s32(vaddq_s32(e, vreinterpretq_s32_f32(vdupq_n_f32(1.0f))));
  float32x4_t r2 = vmulq_f32(r, r);
  float32x4_t p = vfmaq_f32(vdupq_n_f32(0x1.573e2ep-5f), vdupq_n_f32(0x1.0e4020p-7f), r);
  float32x4_t q = vfmaq_f32(vdupq_n_f32(0x1.fffdb6p-2f), vdupq_n_f32(0x1.555e66p-3f), r);
  q = vfmaq_f32(q, p, r2);
  p = vmulq_f32(vdupq_n_f32(0x1.ffffecp-1f), r);
  float32x4_t poly = vfmaq_f32(p, q, r2);
  float32x4_t y = vfmaq_f32(scale, poly, scale);
  y = vbslq_f32(vcltq_f32(x, vdupq_n_f32(-104.0f)), vdupq_n_f32(0), y);
  y = vbslq_f32(vcgtq_f32(x, vdupq_n_f32(89.0f)), vdupq_n_f32(__builtin_inff()), y);
  uint32x4_t edge = vandq_u32(vcagtq_f32(x, vdupq_n_f32(87.0f)),
                              vandq_u32(vcgeq_f32(x, vdupq_n_f32(-104.0f)), vcleq_f32(x, vdupq_n_f32(89.0f))));
  if (vmaxvq_u32(edge)) {
    float in[4], out[4];
    vst1q_f32(in, x);
    vst1q_f32(out, y);
    for (int l = 0; l < 4; l++)
      if (fabsf(in[l]) > 87.0f && in[l] >= -104.0f && in[l] <= 89.0f) out[l] = expf(in[l]);
    y = vld1q_f32(out);
  }
  return y;
}

static float32x4_t erfNEON(float32x4_t x) {
  const float32x4_t shift = vdupq_n_f32(0x1p16f);
  float32x4_t a = vabsq_f32(x);
  uint32x4_t large = vcgtq_f32(a, vdupq_n_f32(3.9375f));
  float32x4_t z = vaddq_f32(a, shift);
  uint32x4_t i = vminq_u32(vsubq_u32(vreinterpretq_u32_f32(z), vreinterpretq_u32_f32(shift)), vdupq_n_u32(512));
  uint32_t index[4];
  vst1q_u32(index, i);
  float values[4], scales[4];
  for (int l = 0; l < 4; l++) values[l] = erfTable[2 * index[l]], scales[l] = erfTable[2 * index[l] + 1];
  float32x4_t erfR = vld1q_f32(values), scale = vld1q_f32(scales);
  float32x4_t r = vsubq_f32(z, shift);
  float32x4_t d = vsubq_f32(a, r);
  float32x4_t d2 = vmulq_f32(d, d);
  float32x4_t y = vfmaq_f32(r, vdupq_n_f32(0x1.555556p-2f), d);
  y = vfmaq_f32(erfR, scale, vfmsq_f32(d, d2, y));
  y = vbslq_f32(large, vdupq_n_f32(1.0f), y);
  uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(y), sign));
}

static float32x4_t geluNEON(float32x4_t x) {
  const float32x4_t half = vdupq_n_f32(0.5f), one = vdupq_n_f32(1.0f);
  float32x4_t cdf = vmulq_f32(half, vaddq_f32(one, erfNEON(vmulq_f32(x, vdupq_n_f32(0x1.6a09e6p-1f)))));
  return vmulq_f32(x, cdf);
}

static float32x4_t geluDerivativeNEON(float32x4_t x) {
  const float32x4_t half = vdupq_n_f32(0.5f), one = vdupq_n_f32(1.0f);
  float32x4_t cdf = vmulq_f32(half, vaddq_f32(one, erfNEON(vmulq_f32(x, vdupq_n_f32(0x1.6a09e6p-1f)))));
  float32x4_t density = expNEON(vmulq_f32(vmulq_f32(x, x), vdupq_n_f32(-0.5f)));
  return vfmaq_f32(cdf, vmulq_f32(x, density), vdupq_n_f32(0x1.988454p-2f));
}

#define MAP4(NAME, VECTOR)                                                                         \
  static void NAME(const float *x, float *y, ptrdiff_t n) {                                        \
    ptrdiff_t i = 0;                                                                               \
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, VECTOR(vld1q_f32(x + i)));                         \
    if (i < n) {                                                                                   \
      float in[4] = {0}, out[4];                                                                   \
      memcpy(in, x + i, sizeof(float) * (size_t)(n - i));                                          \
      vst1q_f32(out, VECTOR(vld1q_f32(in)));                                                       \
      memcpy(y + i, out, sizeof(float) * (size_t)(n - i));                                         \
    }                                                                                              \
  }
MAP4(expNEONArray, expNEON)
MAP4(erfNEONArray, erfNEON)
MAP4(geluNEONArray, geluNEON)
MAP4(geluDerivativeNEONArray, geluDerivativeNEON)

// NEON square roots, four Floats or two Doubles at a time: the scalar loop calls sqrtf, which may
// set errno, once per element. FSQRT is correctly rounded, so the bits are those of every path.
static void sqrtFloatsNEON(const float *x, float *y, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vsqrtq_f32(vld1q_f32(x + i)));
  for (; i < n; i++) y[i] = vget_lane_f32(vsqrt_f32(vdup_n_f32(x[i])), 0);
}

static void sqrtDoublesNEON(const double *x, double *y, ptrdiff_t n) {
  ptrdiff_t i = 0;
  for (; i + 2 <= n; i += 2) vst1q_f64(y + i, vsqrtq_f64(vld1q_f64(x + i)));
  for (; i < n; i++) y[i] = vget_lane_f64(vsqrt_f64(vdup_n_f64(x[i])), 0);
}
#else
#define sqrtFloatsNEON(...) ((void)0)
#define sqrtDoublesNEON(...) ((void)0)
#define expNEONArray(...) ((void)0)
#define erfNEONArray(...) ((void)0)
#define geluNEONArray(...) ((void)0)
#define geluDerivativeNEONArray(...) ((void)0)
#endif

// The entry points: the AVX-512 loop on that path where there is one, the x86 vector loop when
// the processor has `check`'s instructions, the NEON loop on AArch64 where there is one, else
// `scalar` of each element (x is the element).
#define ENTRY_WITH_NEON(T, NAME, CHECK, VECTOR, WIDE, HAS_WIDE, NEON, HAS_NEON, SCALAR)            \
  void NAME(const T *in, T *out, ptrdiff_t n) {                                                    \
    if (BP_X86 && HAS_WIDE && bp_has_avx512()) {                                                   \
      WIDE(in, out, n);                                                                            \
      return;                                                                                      \
    }                                                                                              \
    if (BP_X86 && CHECK()) {                                                                       \
      VECTOR(in, out, n);                                                                          \
      return;                                                                                      \
    }                                                                                              \
    if (BP_NEON && HAS_NEON && bp_has_neon()) {                                                    \
      NEON(in, out, n);                                                                            \
      return;                                                                                      \
    }                                                                                              \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
      T x = in[i];                                                                                 \
      out[i] = SCALAR;                                                                             \
    }                                                                                              \
  }
#if !BP_X86
#define exp8Array(...) ((void)0)
#define erf8Array(...) ((void)0)
#define gelu8Array(...) ((void)0)
#define geluDerivative8Array(...) ((void)0)
#define exp16Array(...) ((void)0)
#define erf16Array(...) ((void)0)
#define gelu16Array(...) ((void)0)
#define geluDerivative16Array(...) ((void)0)
#define sqrtFloats(...) ((void)0)
#define sqrtDoubles(...) ((void)0)
#define sqrtFloats16(...) ((void)0)
#define sqrtDoubles8(...) ((void)0)
#endif
#define ENTRY(T, NAME, CHECK, VECTOR, WIDE, NEON, SCALAR) ENTRY_WITH_NEON(T, NAME, CHECK, VECTOR, WIDE, 1, NEON, 1, SCALAR)
ENTRY(float, bp_exp_f32, bp_has_avx2_fma, exp8Array, exp16Array, expNEONArray, expf(x))
ENTRY(float, bp_erf_f32, bp_has_avx2_fma, erf8Array, erf16Array, erfNEONArray, erff(x))
ENTRY(float, bp_gelu_f32, bp_has_avx2_fma, gelu8Array, gelu16Array, geluNEONArray,
      0.5f * x * (1.0f + erff(x * 0x1.6a09e6p-1f)))
ENTRY(float, bp_gelu_derivative_f32, bp_has_avx2_fma, geluDerivative8Array, geluDerivative16Array,
      geluDerivativeNEONArray, 0.5f * (1.0f + erff(x * 0x1.6a09e6p-1f)) + x * expf(-0.5f * x * x) * 0x1.988454p-2f)
// Square roots are correctly rounded on every path, so the results are the same on every CPU.
ENTRY_WITH_NEON(float, bp_sqrt_f32, bp_has_avx, sqrtFloats, sqrtFloats16, 1, sqrtFloatsNEON, 1, sqrtf(x))
ENTRY_WITH_NEON(double, bp_sqrt_f64, bp_has_avx, sqrtDoubles, sqrtDoubles8, 1, sqrtDoublesNEON, 1, sqrt(x))
