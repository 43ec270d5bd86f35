//! Networks built on libtorch from a resolved [`regnet_spec::Network`].
//!
//! Every layer is created from the very struct the complexity counter reads,
//! so the trainable parameter count is the spec's `params` by construction
//! (and tested for every zoo model). Variable names are pycls's module
//! names (`stem.conv`, `s1.b1.f.a_bn`, `head.fc`, ...), read from the names
//! each spec layer carries, so pycls checkpoints map one to one.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use regnet_spec::blocks::{Block, MbConv, VanillaBlock};
use regnet_spec::head::Head;
use regnet_spec::layers::{Conv2d, ConvBn, Se};
use regnet_spec::stem::Stem;
use regnet_spec::{Activation, Network};
use std::sync::Mutex;
use tch::nn::{self, Module, ModuleT};
use tch::{Device, Tensor};

/// How a network's layers are set up beyond its spec: pycls's weight
/// initialization switch and BN hyper-parameters (`BN.*` of a config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InitConfig {
    /// γ = 0 for the last BN of each residual branch ("zero-init residual").
    pub zero_init_final_gamma: bool,
    /// BN epsilon (`BN.EPS`).
    pub bn_eps: f64,
    /// BN running-statistics momentum (`BN.MOM`, PyTorch's convention).
    pub bn_momentum: f64,
    /// Seeds the model's own generator: the initial weights, and the
    /// dropout and drop-connect masks until the trainer reseeds it. Nothing
    /// is drawn from libtorch's process-wide generator, so two models built
    /// on parallel threads are each reproducible.
    pub seed: u64,
}

impl Default for InitConfig {
    /// pycls's defaults: no zero-init, eps 1e-5, momentum 0.1; seed 0.
    fn default() -> Self {
        InitConfig {
            zero_init_final_gamma: false,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
            seed: 0,
        }
    }
}

impl InitConfig {
    /// The settings a training recipe asks for.
    pub fn of(recipe: &regnet_config::Recipe) -> Self {
        InitConfig {
            zero_init_final_gamma: recipe.zero_init_final_gamma,
            bn_eps: recipe.bn_eps,
            bn_momentum: recipe.bn_momentum,
            seed: recipe.seed,
        }
    }

    fn final_gamma(&self) -> f64 {
        if self.zero_init_final_gamma {
            0.0
        } else {
            1.0
        }
    }
}

/// A network on libtorch: variables live in the [`nn::VarStore`] it was built in.
#[derive(Debug)]
pub struct Model {
    stem: StemT,
    stages: Vec<Vec<BlockT>>,
    head: HeadT,
    act: Activation,
    drop_connect: f64,
    /// Inputs are given channels-last strides to match the weights
    /// ([`BuiltModel::to_channels_last`]).
    channels_last: bool,
    /// Draws the dropout and drop-connect masks of train-mode forwards.
    noise: Noise,
}

impl Model {
    /// Builds `net` under `root` (usually `vs.root()`).
    pub fn new(root: &nn::Path, net: &Network, init: InitConfig) -> Self {
        let stages = net
            .stages
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                let sp = root / format!("s{}", i + 1);
                stage
                    .blocks
                    .iter()
                    .enumerate()
                    .map(|(j, b)| BlockT::new(&(&sp / format!("b{}", j + 1)), b, init))
                    .collect()
            })
            .collect();
        Model {
            stem: StemT::new(&(root / "stem"), &net.stem, init),
            stages,
            head: HeadT::new(&(root / "head"), &net.head, init),
            act: net.activation,
            drop_connect: net.drop_connect,
            channels_last: false,
            noise: Noise::new(init.seed ^ NOISE_STREAM),
        }
    }

    /// Restarts the dropout and drop-connect masks from `seed` (the trainer
    /// does at every epoch, so a resumed run draws what an uninterrupted one does).
    pub fn reseed_noise(&self, seed: u64) {
        self.noise.reseed(seed);
    }
}

/// Separates the model's generator streams from the trainer's.
const NOISE_STREAM: u64 = 0x6e6f_6973_6500_0003;
const INIT_STREAM: u64 = 0x696e_6974_0000_0004;

/// The model's own generator for train-mode masks. A mutex, because
/// `forward_t` takes `&self`; only the training thread ever locks it.
#[derive(Debug)]
struct Noise(Mutex<ChaCha8Rng>);

impl Noise {
    fn new(seed: u64) -> Self {
        Noise(Mutex::new(ChaCha8Rng::seed_from_u64(seed)))
    }

    fn reseed(&self, seed: u64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Keeps each element of `x` with probability `keep` and scales the kept
    /// ones by 1 / `keep` (inverted dropout); `mask_shape` broadcasts over `x`.
    fn drop(&self, x: &Tensor, mask_shape: &[i64], keep: f64) -> Tensor {
        let n: i64 = mask_shape.iter().product();
        let scale = (1.0 / keep) as f32;
        let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mask: Vec<f32> = (0..n)
            .map(|_| match rng.random::<f64>() < keep {
                true => scale,
                false => 0.0,
            })
            .collect();
        let mask = Tensor::from_slice(&mask).view(mask_shape);
        x * mask.to_device(x.device()).to_kind(x.kind())
    }
}

impl Model {
    /// Every conv + BN pair of the network.
    pub(crate) fn conv_bns(&mut self) -> Vec<&mut ConvBnT> {
        let mut out = vec![&mut self.stem.conv];
        for block in self.stages.iter_mut().flatten() {
            out.extend(block.conv_bns());
        }
        out.extend(self.head.conv.as_mut());
        out
    }
}

impl ModuleT for Model {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let xs = match self.channels_last && xs.dim() == 4 {
            true => channels_last(xs),
            false => xs.shallow_clone(),
        };
        let mut x = self.stem.forward_t(&xs, train, self.act);
        for stage in &self.stages {
            for block in stage {
                let dc =
                    (train && self.drop_connect > 0.0).then_some((&self.noise, self.drop_connect));
                x = block.forward_t(&x, train, self.act, dc);
            }
        }
        let dropout = train.then_some(&self.noise);
        self.head.forward_t(&x, train, self.act, dropout)
    }
}

/// The activation, in place where it is safe: every caller passes a fresh
/// intermediate (a BN output or a sum) that nothing else reads, as
/// torchvision's `ReLU(inplace=True)`; this saves a tensor per activation.
fn activate(mut x: Tensor, act: Activation) -> Tensor {
    match act {
        Activation::Relu => x.relu_(),
        Activation::Silu => x.silu_(),
    }
}

/// A residual sum, written into the branch's output `y`: a fresh conv or
/// BN output whose gradient no backward reads (torchvision's `out +=
/// identity`), so the sum needs no tensor of its own.
fn add_to(mut y: Tensor, x: &Tensor) -> Tensor {
    y += x;
    y
}

/// A conv, bias 0; its weight is drawn by [`init_weights`].
fn conv(p: &nn::Path, c: &Conv2d) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride: c.stride as i64,
        padding: c.padding() as i64,
        groups: c.groups as i64,
        bias: c.bias,
        ws_init: nn::Init::Const(0.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::conv2d(p, c.w_in as i64, c.w_out as i64, c.k as i64, cfg)
}

/// BN with γ = 1 (or 0 when it closes a residual branch and zero-init is on), β = 0.
fn bn(p: &nn::Path, w: u64, gamma: f64, init: InitConfig) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        eps: init.bn_eps,
        momentum: init.bn_momentum,
        ws_init: nn::Init::Const(gamma),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, w as i64, cfg)
}

/// `p` / `name` for a dotted module name (`f.se.f_ex.0`): tch paths take one
/// segment at a time.
fn sub<'a>(p: &nn::Path<'a>, name: &str) -> nn::Path<'a> {
    name.split('.').fold(p.clone(), |p, s| p / s)
}

/// The full variable prefix of module `name` under `p` (`s1.b1.f.a`).
fn full_name(p: &nn::Path, name: &str) -> String {
    match name.rsplit_once('.') {
        Some((dir, last)) => sub(p, dir).path(last),
        None => p.path(name),
    }
}

/// Conv + BN named by the spec (`f.a` / `f.a_bn`, `proj` / `bn`, ...).
#[derive(Debug)]
pub(crate) struct ConvBnT {
    /// The conv's variable prefix (`s1.b1.proj`), for messages.
    name: String,
    /// The conv as the spec describes it (what the layout guard judges).
    spec: Conv2d,
    /// Kept in NCHW inside a channels-last model: libtorch is known to crash
    /// training this conv channels-last ([`crate::layout`]).
    keep_nchw: bool,
    conv: nn::Conv2D,
    pub(crate) bn: nn::BatchNorm,
    /// Stride, padding and groups of the conv, for the folded conv.
    geometry: [i64; 3],
    /// The BN folded into the conv (weight, bias), for inference only.
    folded: Option<(Tensor, Tensor)>,
    eps: f64,
    /// Running-statistics momentum of train-mode forwards; 1 while precise
    /// statistics are gathered (each batch's own statistics then).
    pub(crate) momentum: f64,
}

impl ConvBnT {
    fn new(p: &nn::Path, c: &ConvBn, gamma: f64, init: InitConfig) -> Self {
        let [conv_name, bn_name] = c.names.map(|n| n.pycls);
        ConvBnT {
            name: full_name(p, conv_name),
            spec: c.conv,
            keep_nchw: false,
            conv: conv(&sub(p, conv_name), &c.conv),
            bn: bn(&sub(p, bn_name), c.bn.w, gamma, init),
            geometry: [
                c.conv.stride as i64,
                c.conv.padding() as i64,
                c.conv.groups as i64,
            ],
            folded: None,
            eps: init.bn_eps,
            momentum: init.bn_momentum,
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        if self.keep_nchw {
            // The rest of the network is channels-last: this conv alone runs
            // on standard-layout input and weights, its output goes back.
            return channels_last(&self.forward_own_layout(&x.contiguous(), train));
        }
        self.forward_own_layout(x, train)
    }

    fn forward_own_layout(&self, x: &Tensor, train: bool) -> Tensor {
        match (&self.folded, train) {
            (Some((w, b)), false) => {
                let [stride, padding, groups] = self.geometry;
                x.conv2d(
                    w,
                    Some(b),
                    [stride, stride],
                    [padding, padding],
                    [1, 1],
                    groups,
                )
            }
            _ => {
                let bn = &self.bn;
                Tensor::batch_norm(
                    &self.conv.forward(x),
                    bn.ws.as_ref(),
                    bn.bs.as_ref(),
                    Some(&bn.running_mean),
                    Some(&bn.running_var),
                    train,
                    self.momentum,
                    self.eps,
                    true,
                )
            }
        }
    }

    /// w' = w · γ / √(σ² + ε) per output channel, b' = β − μ · γ / √(σ² + ε):
    /// one conv instead of a conv and a BN at inference. Keeps the weight's
    /// memory format (channels-last stays channels-last).
    fn fold(&mut self) {
        let bn = &self.bn;
        let (Some(gamma), Some(beta)) = (&bn.ws, &bn.bs) else {
            return;
        };
        let scale = gamma / (&bn.running_var + self.eps).sqrt();
        let w = &self.conv.ws * scale.view([-1, 1, 1, 1]);
        let b = beta - &bn.running_mean * &scale;
        self.folded = Some((w.detach(), b.detach()));
    }
}

#[derive(Debug)]
struct StemT {
    conv: ConvBnT,
    pool: Option<(i64, i64)>,
}

impl StemT {
    fn new(p: &nn::Path, s: &Stem, init: InitConfig) -> Self {
        StemT {
            conv: ConvBnT::new(p, &s.conv, 1.0, init),
            pool: s.pool.map(|pl| (pl.k as i64, pl.stride as i64)),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool, act: Activation) -> Tensor {
        let y = activate(self.conv.forward_t(x, train), act);
        match self.pool {
            Some((k, s)) => y.max_pool2d([k, k], [s, s], [(k - 1) / 2, (k - 1) / 2], [1, 1], false),
            None => y,
        }
    }
}

/// Squeeze-and-excitation (`f.se.f_ex.0` and `f.se.f_ex.2` in pycls).
#[derive(Debug)]
struct SeT {
    reduce: nn::Conv2D,
    expand: nn::Conv2D,
}

impl SeT {
    fn new(p: &nn::Path, se: &Se) -> Self {
        let [reduce, expand] = se.names.map(|n| sub(p, n.pycls));
        SeT {
            reduce: conv(&reduce, &se.reduce),
            expand: conv(&expand, &se.expand),
        }
    }

    /// `x` is a fresh activation that nothing else reads: at inference it
    /// is scaled in place (training keeps it, as the product's gradient
    /// reads it).
    fn forward(&self, mut x: Tensor, train: bool, act: Activation) -> Tensor {
        let s = x.adaptive_avg_pool2d([1, 1]);
        let s = activate(self.reduce.forward(&s), act);
        let s = self.expand.forward(&s).sigmoid_();
        if train {
            return x * s;
        }
        x *= &s;
        x
    }
}

// A network holds tens of blocks, so variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum BlockT {
    Vanilla {
        a: ConvBnT,
        b: ConvBnT,
    },
    Residual {
        proj: Option<ConvBnT>,
        f: Transform,
    },
    Linear {
        skip: bool,
        f: Transform,
    },
    MbConv {
        exp: Option<ConvBnT>,
        dwise: ConvBnT,
        se: SeT,
        lin_proj: ConvBnT,
        skip: bool,
    },
}

/// The residual branch `f` of basic and bottleneck blocks.
#[derive(Debug)]
struct Transform {
    a: ConvBnT,
    b: ConvBnT,
    se: Option<SeT>,
    c: Option<ConvBnT>,
}

impl Transform {
    fn conv_bns(&mut self) -> Vec<&mut ConvBnT> {
        let mut v = vec![&mut self.a, &mut self.b];
        v.extend(self.c.as_mut());
        v
    }

    fn basic(p: &nn::Path, v: &VanillaBlock, init: InitConfig) -> Self {
        Transform {
            a: ConvBnT::new(p, &v.a, 1.0, init),
            b: ConvBnT::new(p, &v.b, init.final_gamma(), init),
            se: None,
            c: None,
        }
    }

    fn bottleneck(
        p: &nn::Path,
        t: &regnet_spec::blocks::BottleneckTransform,
        init: InitConfig,
    ) -> Self {
        Transform {
            a: ConvBnT::new(p, &t.a, 1.0, init),
            b: ConvBnT::new(p, &t.b, 1.0, init),
            se: t.se.as_ref().map(|se| SeT::new(p, se)),
            c: Some(ConvBnT::new(p, &t.c, init.final_gamma(), init)),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool, act: Activation) -> Tensor {
        let y = activate(self.a.forward_t(x, train), act);
        let y = self.b.forward_t(&y, train);
        let Some(c) = &self.c else {
            return y; // basic transform: a, act, b (no activation after b)
        };
        let mut y = activate(y, act);
        if let Some(se) = &self.se {
            y = se.forward(y, train, act);
        }
        c.forward_t(&y, train)
    }
}

impl BlockT {
    fn new(p: &nn::Path, block: &Block, init: InitConfig) -> Self {
        let proj = |c: &Option<ConvBn>| c.as_ref().map(|c| ConvBnT::new(p, c, 1.0, init));
        match block {
            Block::Vanilla(v) => BlockT::Vanilla {
                a: ConvBnT::new(p, &v.a, 1.0, init),
                b: ConvBnT::new(p, &v.b, 1.0, init),
            },
            Block::ResBasic(b) => BlockT::Residual {
                proj: proj(&b.proj),
                f: Transform::basic(p, &b.f, init),
            },
            Block::ResBottleneck(b) => BlockT::Residual {
                proj: proj(&b.proj),
                f: Transform::bottleneck(p, &b.f, init),
            },
            Block::ResBottleneckLinear(b) => BlockT::Linear {
                skip: b.has_skip,
                f: Transform::bottleneck(p, &b.f, init),
            },
            Block::MbConv(m) => Self::mbconv(p, m, init),
        }
    }

    fn mbconv(p: &nn::Path, m: &MbConv, init: InitConfig) -> Self {
        BlockT::MbConv {
            exp: m.exp.as_ref().map(|c| ConvBnT::new(p, c, 1.0, init)),
            dwise: ConvBnT::new(p, &m.dwise, 1.0, init),
            se: SeT::new(p, &m.se),
            lin_proj: ConvBnT::new(p, &m.lin_proj, 1.0, init),
            skip: m.has_skip,
        }
    }

    fn conv_bns(&mut self) -> Vec<&mut ConvBnT> {
        match self {
            BlockT::Vanilla { a, b } => vec![a, b],
            BlockT::Residual { proj, f } => proj.iter_mut().chain(f.conv_bns()).collect(),
            BlockT::Linear { f, .. } => f.conv_bns(),
            BlockT::MbConv {
                exp,
                dwise,
                lin_proj,
                ..
            } => exp.iter_mut().chain([dwise, lin_proj]).collect(),
        }
    }

    /// `drop_connect`: the mask source and ratio, in train mode when the
    /// network drops branches.
    fn forward_t(
        &self,
        x: &Tensor,
        train: bool,
        act: Activation,
        drop_connect: Option<(&Noise, f64)>,
    ) -> Tensor {
        match self {
            BlockT::Vanilla { a, b } => {
                let y = activate(a.forward_t(x, train), act);
                activate(b.forward_t(&y, train), act)
            }
            BlockT::Residual { proj, f } => {
                let shortcut = match proj {
                    Some(p) => p.forward_t(x, train),
                    None => x.shallow_clone(),
                };
                activate(add_to(f.forward_t(x, train, act), &shortcut), act)
            }
            BlockT::Linear { skip, f } => {
                let y = f.forward_t(x, train, act);
                if *skip {
                    add_to(y, x)
                } else {
                    y
                }
            }
            BlockT::MbConv {
                exp,
                dwise,
                se,
                lin_proj,
                skip,
            } => {
                let y = match exp {
                    Some(e) => activate(e.forward_t(x, train), act),
                    None => x.shallow_clone(),
                };
                let y = activate(dwise.forward_t(&y, train), act);
                let y = lin_proj.forward_t(&se.forward(y, train, act), train);
                if !*skip {
                    return y;
                }
                match drop_connect {
                    // Whole residual branches dropped per sample (pycls `drop_connect`).
                    Some((noise, ratio)) => {
                        add_to(noise.drop(&y, &[y.size()[0], 1, 1, 1], 1.0 - ratio), x)
                    }
                    None => add_to(y, x),
                }
            }
        }
    }
}

#[derive(Debug)]
struct HeadT {
    conv: Option<ConvBnT>,
    fc: nn::Linear,
    dropout: f64,
}

impl HeadT {
    fn new(p: &nn::Path, h: &Head, init: InitConfig) -> Self {
        let fc = nn::linear(
            sub(p, h.fc_names.pycls),
            h.fc.w_in as i64,
            h.fc.w_out as i64,
            nn::LinearConfig {
                ws_init: nn::Init::Const(0.0), // drawn by init_weights
                bs_init: Some(nn::Init::Const(0.0)),
                bias: h.fc.bias,
            },
        );
        HeadT {
            conv: h.conv.as_ref().map(|c| ConvBnT::new(p, c, 1.0, init)),
            fc,
            dropout: h.dropout,
        }
    }

    /// `dropout`: the mask source, in train mode.
    fn forward_t(
        &self,
        x: &Tensor,
        train: bool,
        act: Activation,
        dropout: Option<&Noise>,
    ) -> Tensor {
        let y = match &self.conv {
            Some(c) => activate(c.forward_t(x, train), act),
            None => x.shallow_clone(),
        };
        let y = y.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        let y = match dropout {
            Some(noise) if self.dropout > 0.0 => noise.drop(&y, &y.size(), 1.0 - self.dropout),
            _ => y,
        };
        y.apply(&self.fc)
    }
}

/// A model with its variables, on one device.
pub struct BuiltModel {
    pub vs: nn::VarStore,
    pub model: Model,
    /// The exponential moving average of the weights, when the recipe keeps
    /// one (pycls `OPTIM.EMA_ALPHA`); made by the first training epoch.
    pub ema: Option<Box<BuiltModel>>,
    net: Network,
    init: InitConfig,
}

impl BuiltModel {
    /// Builds `net` with pycls initialization on `device`.
    pub fn new(net: &Network, device: crate::Device, init: InitConfig) -> Self {
        Self::on(net, device.tch(), init)
    }

    fn on(net: &Network, device: Device, init: InitConfig) -> Self {
        let vs = nn::VarStore::new(device);
        let model = Model::new(&vs.root(), net, init);
        init_weights(&vs, init.seed ^ INIT_STREAM);
        BuiltModel {
            vs,
            model,
            ema: None,
            net: net.clone(),
            init,
        }
    }

    /// Stores every 4-D weight channels-last (NHWC strides), so libtorch
    /// picks its channels-last convolution kernels (on CPUs with oneDNN they
    /// train small RegNets about 1.4-1.5x faster, bench/RESULTS.md); inputs get
    /// the same strides in `forward_t`, and the EMA model follows. Convs that
    /// libtorch is known to crash on in channels-last training
    /// ([`crate::layout::crashes_channels_last`]) stay NCHW, each converting
    /// its input and output; their names are returned.
    pub fn to_channels_last(&mut self) -> Vec<String> {
        self.channels_last_with(crate::layout::crashes_channels_last)
    }

    /// Every conv channels-last, with no guard (to reproduce the crash).
    pub fn to_channels_last_unguarded(&mut self) {
        self.channels_last_with(|_| false);
    }

    fn channels_last_with(&mut self, keep_nchw: fn(&Conv2d) -> bool) -> Vec<String> {
        let mut kept = Vec::new();
        for cb in self.model.conv_bns() {
            cb.keep_nchw = keep_nchw(&cb.spec);
            if cb.keep_nchw {
                kept.push(cb.name.clone());
            }
        }
        let weights: Vec<String> = kept.iter().map(|k| format!("{k}.weight")).collect();
        tch::no_grad(|| {
            for (name, mut v) in self.vs.variables() {
                if v.dim() == 4 && !weights.contains(&name) {
                    let cl = channels_last(&v);
                    v.set_data(&cl);
                }
            }
        });
        self.model.channels_last = true;
        if let Some(ema) = &mut self.ema {
            ema.channels_last_with(keep_nchw);
        }
        kept
    }

    /// Writes the weights and BN statistics as safetensors (pycls names),
    /// in standard layout whatever the layout in memory.
    pub fn save(&self, path: &std::path::Path) -> crate::Result<()> {
        let named: Vec<(String, Tensor)> = self
            .vs
            .variables()
            .into_iter()
            .map(|(k, v)| (k, v.to_device(Device::Cpu).contiguous()))
            .collect();
        Tensor::write_safetensors(&named, path)
            .map_err(|e| crate::EngineError::bad_file(path, format!("cannot write weights: {e}")))
    }

    /// The network the model was built from.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The device the model lives on.
    pub fn device(&self) -> crate::Device {
        match self.vs.device() {
            Device::Cuda(i) => crate::Device::Cuda(i),
            _ => crate::Device::Cpu,
        }
    }

    /// Folds every BN into the conv before it, for inference: eval-mode
    /// outputs are unchanged (up to rounding) and one op per pair is saved.
    /// Train-mode forwards ignore the folding; fold again after the weights
    /// or BN statistics change.
    pub fn fold_bn(&mut self) {
        tch::no_grad(|| {
            for cb in self.model.conv_bns() {
                cb.fold();
            }
        });
    }

    /// A second model of the same network holding a copy of this one's
    /// weights and BN statistics (for the weight EMA).
    pub fn twin(&self) -> crate::Result<Self> {
        let mut t = BuiltModel::on(&self.net, self.vs.device(), self.init);
        t.vs.copy(&self.vs)?;
        if self.model.channels_last {
            let _ = t.to_channels_last();
        }
        Ok(t)
    }

    /// Number of trainable parameters (BN running statistics excluded).
    pub fn num_params(&self) -> u64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as u64)
            .sum()
    }
}

/// pycls's initialization, drawn from a generator of the model's own
/// (`seed`): conv weights ~ N(0, sqrt(2 / fan_out)) with fan_out = k·k·w_out
/// read from the weight's shape, linear weights ~ N(0, 0.01); biases and BN
/// parameters keep the constants they were created with. Variables are
/// filled in name order, so the draw does not depend on a hash map's order.
fn init_weights(vs: &nn::VarStore, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (_, mut v) in vars {
            let shape = v.size();
            let std = match shape.as_slice() {
                [w_out, _, kh, kw] => (2.0 / (kh * kw * w_out) as f64).sqrt(),
                [_, _] => 0.01,
                _ => continue,
            };
            let values: Vec<f32> = (0..v.numel())
                .map(|_| rng.sample::<f32, _>(StandardNormal) * std as f32)
                .collect();
            v.copy_(&Tensor::from_slice(&values).view(shape.as_slice()));
        }
    });
}

/// The same N × C × H × W values with channels-last strides (tch has no
/// memory-format call: permute to NHWC, make contiguous, permute back).
pub fn channels_last(t: &Tensor) -> Tensor {
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}
