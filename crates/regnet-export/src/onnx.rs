//! ONNX models (opset 17, dynamic batch) built from a network's spec and
//! its weights. The graph is the eval-mode forward pass with every BN
//! folded into the conv before it, as the engine folds them for inference;
//! SiLU is written as `x * Sigmoid(x)`, which every runtime has.

use crate::proto::Message;
use crate::{values, Array, ExportError, Result};
use regnet_spec::blocks::{Block, BottleneckTransform, MbConv};
use regnet_spec::layers::{Conv2d, ConvBn, Se};
use regnet_spec::{Activation, Network};
use std::path::Path;

/// The ONNX operator set the graph is written for.
pub const OPSET: i64 = 17;
/// ONNX IR version 8 (the one that introduced opset 17).
const IR_VERSION: i64 = 8;
/// `TensorProto.DataType.FLOAT`.
const FLOAT: i64 = 1;

/// Writes `net` with the weights `state` (pycls names) as an ONNX model
/// taking N x 3 x `im_size` x `im_size` float inputs (N free) to N x classes
/// logits; `bn_eps` is the BN epsilon the model was trained with, and
/// `metadata` the key/value pairs stored in the model's `metadata_props`
/// (how inputs must be prepared, so a runtime user needs no other file).
pub fn write(
    net: &Network,
    state: &[Array],
    im_size: u64,
    bn_eps: f64,
    metadata: &[(String, String)],
    path: &Path,
) -> Result<()> {
    let bytes = model(net, state, im_size, bn_eps, metadata)?;
    std::fs::write(path, bytes)
        .map_err(|e| ExportError(format!("cannot write '{}': {e}", path.display())))
}

/// The serialized `ModelProto`.
pub fn model(
    net: &Network,
    state: &[Array],
    im_size: u64,
    bn_eps: f64,
    metadata: &[(String, String)],
) -> Result<Vec<u8>> {
    let mut g = Graph {
        state,
        eps: bn_eps,
        act: net.activation,
        nodes: Vec::new(),
        inits: Vec::new(),
        next: 0,
    };
    let logits = g.network(net, "input")?;
    let size = im_size as i64;
    let classes = net.head.fc.w_out as i64;
    let mut graph = Message::new();
    for n in &g.nodes {
        graph = graph.message(1, n);
    }
    graph = graph.string(2, "regnet");
    for t in &g.inits {
        graph = graph.message(5, t);
    }
    graph = graph
        .message(
            11,
            &value_info(
                "input",
                &[
                    Dim::Batch,
                    Dim::Fixed(3),
                    Dim::Fixed(size),
                    Dim::Fixed(size),
                ],
            ),
        )
        .message(12, &value_info(&logits, &[Dim::Batch, Dim::Fixed(classes)]));
    let opset = Message::new().string(1, "").int(2, OPSET);
    let mut model = Message::new()
        .int(1, IR_VERSION)
        .string(2, "regnet")
        .string(3, env!("CARGO_PKG_VERSION"))
        .message(7, &graph)
        .message(8, &opset);
    for (key, value) in metadata {
        // ModelProto.metadata_props: StringStringEntryProto { key = 1, value = 2 }.
        model = model.message(14, &Message::new().string(1, key).string(2, value));
    }
    Ok(model.0)
}

enum Dim {
    /// The free batch dimension, named `N`.
    Batch,
    Fixed(i64),
}

fn value_info(name: &str, dims: &[Dim]) -> Message {
    let shape = dims.iter().fold(Message::new(), |s, d| {
        let dim = match d {
            Dim::Batch => Message::new().string(2, "N"),
            Dim::Fixed(v) => Message::new().int(1, *v),
        };
        s.message(1, &dim)
    });
    let tensor = Message::new().int(1, FLOAT).message(2, &shape);
    Message::new()
        .string(1, name)
        .message(2, &Message::new().message(1, &tensor))
}

/// An integer attribute of a node (`AttributeProto.i`, type INT).
fn attr_int(name: &str, v: i64) -> Message {
    Message::new().string(1, name).int(3, v).int(20, 2)
}

/// An integer-list attribute of a node (`AttributeProto.ints`, type INTS).
fn attr(name: &str, v: &[i64]) -> Message {
    Message::new().string(1, name).ints(8, v).int(20, 7)
}

/// The graph under construction.
struct Graph<'a> {
    state: &'a [Array],
    eps: f64,
    act: Activation,
    nodes: Vec<Message>,
    inits: Vec<Message>,
    next: usize,
}

impl Graph<'_> {
    /// Appends a node; returns the name of its output.
    fn node(&mut self, op: &str, inputs: &[&str], attrs: &[Message]) -> String {
        self.next += 1;
        let out = format!("{}_{}", op.to_lowercase(), self.next);
        let mut n = Message::new();
        for i in inputs {
            n = n.string(1, i);
        }
        n = n.string(2, &out).string(3, &out).string(4, op);
        for a in attrs {
            n = n.message(5, a);
        }
        self.nodes.push(n);
        out
    }

    /// Adds an initializer (a constant tensor) and returns its name.
    fn init(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        self.inits.push(
            Message::new()
                .ints(1, &dims)
                .int(2, FLOAT)
                .string(8, name)
                .bytes(9, &raw),
        );
        name.to_string()
    }

    fn get(&self, name: &str) -> Result<&[f32]> {
        values(self.state, name)
    }

    fn network(&mut self, net: &Network, input: &str) -> Result<String> {
        let mut x = self.conv_bn(input, "stem.", &net.stem.conv)?;
        x = self.activate(&x);
        if let Some(pool) = &net.stem.pool {
            let (k, s, p) = (pool.k as i64, pool.stride as i64, ((pool.k - 1) / 2) as i64);
            let attrs = [
                attr("kernel_shape", &[k, k]),
                attr("strides", &[s, s]),
                attr("pads", &[p, p, p, p]),
            ];
            x = self.node("MaxPool", &[&x], &attrs);
        }
        for (i, stage) in net.stages.iter().enumerate() {
            for (j, block) in stage.blocks.iter().enumerate() {
                x = self.block(&x, &format!("s{}.b{}.", i + 1, j + 1), block)?;
            }
        }
        if let Some(conv) = &net.head.conv {
            x = self.conv_bn(&x, "head.", conv)?;
            x = self.activate(&x);
        }
        let x = self.node("GlobalAveragePool", &[&x], &[]);
        let x = self.node("Flatten", &[&x], &[attr_int("axis", 1)]);
        let fc = format!("head.{}", net.head.fc_names.pycls);
        let (w_in, w_out) = (net.head.fc.w_in as usize, net.head.fc.w_out as usize);
        let w = self.get(&format!("{fc}.weight"))?.to_vec();
        let w = self.init(&format!("{fc}.weight"), &[w_out, w_in], &w);
        let b = self.get(&format!("{fc}.bias"))?.to_vec();
        let b = self.init(&format!("{fc}.bias"), &[w_out], &b);
        Ok(self.node("Gemm", &[&x, &w, &b], &[attr_int("transB", 1)]))
    }

    fn activate(&mut self, x: &str) -> String {
        match self.act {
            Activation::Relu => self.node("Relu", &[x], &[]),
            Activation::Silu => {
                let s = self.node("Sigmoid", &[x], &[]);
                self.node("Mul", &[x, &s], &[])
            }
        }
    }

    fn block(&mut self, x: &str, prefix: &str, block: &Block) -> Result<String> {
        Ok(match block {
            Block::Vanilla(v) => {
                let y = self.conv_bn(x, prefix, &v.a)?;
                let y = self.activate(&y);
                let y = self.conv_bn(&y, prefix, &v.b)?;
                self.activate(&y)
            }
            Block::ResBasic(b) => {
                let short = self.shortcut(x, prefix, &b.proj)?;
                let y = self.conv_bn(x, prefix, &b.f.a)?;
                let y = self.activate(&y);
                let y = self.conv_bn(&y, prefix, &b.f.b)?;
                let sum = self.node("Add", &[&short, &y], &[]);
                self.activate(&sum)
            }
            Block::ResBottleneck(b) => {
                let short = self.shortcut(x, prefix, &b.proj)?;
                let y = self.bottleneck(x, prefix, &b.f)?;
                let sum = self.node("Add", &[&short, &y], &[]);
                self.activate(&sum)
            }
            Block::ResBottleneckLinear(b) => {
                let y = self.bottleneck(x, prefix, &b.f)?;
                match b.has_skip {
                    true => self.node("Add", &[x, &y], &[]),
                    false => y,
                }
            }
            Block::MbConv(m) => self.mbconv(x, prefix, m)?,
        })
    }

    fn shortcut(&mut self, x: &str, prefix: &str, proj: &Option<ConvBn>) -> Result<String> {
        match proj {
            Some(p) => self.conv_bn(x, prefix, p),
            None => Ok(x.to_string()),
        }
    }

    fn bottleneck(&mut self, x: &str, prefix: &str, f: &BottleneckTransform) -> Result<String> {
        let y = self.conv_bn(x, prefix, &f.a)?;
        let y = self.activate(&y);
        let y = self.conv_bn(&y, prefix, &f.b)?;
        let mut y = self.activate(&y);
        if let Some(se) = &f.se {
            y = self.se(&y, prefix, se)?;
        }
        self.conv_bn(&y, prefix, &f.c)
    }

    fn mbconv(&mut self, x: &str, prefix: &str, m: &MbConv) -> Result<String> {
        let mut y = x.to_string();
        if let Some(exp) = &m.exp {
            y = self.conv_bn(&y, prefix, exp)?;
            y = self.activate(&y);
        }
        let y = self.conv_bn(&y, prefix, &m.dwise)?;
        let y = self.activate(&y);
        let y = self.se(&y, prefix, &m.se)?;
        let y = self.conv_bn(&y, prefix, &m.lin_proj)?;
        Ok(match m.has_skip {
            true => self.node("Add", &[x, &y], &[]),
            false => y,
        })
    }

    fn se(&mut self, x: &str, prefix: &str, se: &Se) -> Result<String> {
        let [reduce, expand] = se.names.map(|n| format!("{prefix}{}", n.pycls));
        let s = self.node("GlobalAveragePool", &[x], &[]);
        let s = self.conv(&s, &reduce, &se.reduce, None)?;
        let s = self.activate(&s);
        let s = self.conv(&s, &expand, &se.expand, None)?;
        let s = self.node("Sigmoid", &[&s], &[]);
        Ok(self.node("Mul", &[x, &s], &[]))
    }

    /// Conv then BN, folded: w' = w·γ/√(σ²+ε) per output channel,
    /// b' = β − μ·γ/√(σ²+ε).
    fn conv_bn(&mut self, x: &str, prefix: &str, cb: &ConvBn) -> Result<String> {
        let [conv, bn] = cb.names.map(|n| format!("{prefix}{}", n.pycls));
        let gamma = self.get(&format!("{bn}.weight"))?;
        let beta = self.get(&format!("{bn}.bias"))?;
        let mean = self.get(&format!("{bn}.running_mean"))?;
        let var = self.get(&format!("{bn}.running_var"))?;
        let scale: Vec<f64> = gamma
            .iter()
            .zip(var)
            .map(|(&g, &v)| f64::from(g) / (f64::from(v) + self.eps).sqrt())
            .collect();
        let bias: Vec<f32> = (0..scale.len())
            .map(|o| (f64::from(beta[o]) - f64::from(mean[o]) * scale[o]) as f32)
            .collect();
        self.conv(x, &conv, &cb.conv, Some((scale, bias)))
    }

    /// A conv from the weights under `name` (and its bias when it has one),
    /// or with `fold`'s per-channel scale and bias applied.
    fn conv(
        &mut self,
        x: &str,
        name: &str,
        c: &Conv2d,
        fold: Option<(Vec<f64>, Vec<f32>)>,
    ) -> Result<String> {
        let w = self.get(&format!("{name}.weight"))?;
        let (k, out, per_group) = (c.k as usize, c.w_out as usize, (c.w_in / c.groups) as usize);
        let per_out = per_group * k * k;
        if w.len() != out * per_out {
            return Err(ExportError(format!(
                "{name}.weight has {} values, the spec's conv {} x {} x {k} x {k}",
                w.len(),
                out,
                per_group
            )));
        }
        let (w, b) = match fold {
            Some((scale, bias)) => {
                let w: Vec<f32> = w
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (f64::from(v) * scale[i / per_out]) as f32)
                    .collect();
                (w, Some(bias))
            }
            None => {
                let b = match c.bias {
                    true => Some(self.get(&format!("{name}.bias"))?.to_vec()),
                    false => None,
                };
                (w.to_vec(), b)
            }
        };
        let w = self.init(&format!("{name}.weight"), &[out, per_group, k, k], &w);
        let mut inputs = vec![x.to_string(), w];
        if let Some(b) = b {
            inputs.push(self.init(&format!("{name}.bias"), &[out], &b));
        }
        let (s, p) = (c.stride as i64, c.padding() as i64);
        let attrs = [
            attr("kernel_shape", &[k as i64, k as i64]),
            attr("strides", &[s, s]),
            attr("pads", &[p, p, p, p]),
            attr_int("group", c.groups as i64),
        ];
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        Ok(self.node("Conv", &refs, &attrs))
    }
}
