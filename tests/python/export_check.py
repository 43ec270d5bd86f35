"""Loads an exported model in the tool it is for and compares its logits with
`regnet predict`'s: max |diff| / max |ref| must be at most 1e-4.

    export_check.py torchvision FILE X.npy REF.npy PYTHON_EXPR
    export_check.py pycls       FILE X.npy REF.npy CONFIG.yaml
    export_check.py torchscript FILE X.npy REF.npy
    export_check.py onnx        FILE X.npy REF.npy
    export_check.py same        A B        (torch.save state dicts, or pycls
                                            checkpoints' model_state: the
                                            same names, byte-identical tensors)
    export_check.py make torchvision EXPR OUT.pth   (a torchvision model's own
                                            state dict, BN randomized)
    export_check.py make pycls CONFIG OUT.pyth      (a checkpoint of pycls's
                                            own model, BN randomized)
    export_check.py metadata FILE.onnx      (prints the model's metadata_props
                                            as one JSON object)

Prints the relative difference; exits 1 when it is too large.
"""
import sys

import numpy as np
import torch


def state(path):
    obj = torch.load(path, map_location="cpu")
    return obj["model_state"] if "model_state" in obj else obj


def same(a, b):
    sa, sb = state(a), state(b)
    # The same names (PyTorch's order may differ: torchvision's ResNet lists
    # a block's downsample after its convs, pycls its projection first).
    assert set(sa) == set(sb), f"names differ: {set(sa) ^ set(sb)}"
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), f"{k} differs"
    print(f"{len(sa)} tensors identical")


def pycls_011_config(path):
    """The config for pycls 0.1.1, the release on PyPI, which predates two
    keys of current pycls: MODEL.ACTIVATION_FUN (0.1.1 hard-codes ReLU for
    AnyNet, RegNet and ResNet, swish for EfficientNet) and the AnyNet/RegNet
    HEAD_W (0.1.1 has no head conv). They are checked to say what 0.1.1 does,
    then dropped."""
    import yaml

    with open(path) as f:
        c = yaml.safe_load(f)
    implied = "silu" if c["MODEL"]["TYPE"] == "effnet" else "relu"
    assert c["MODEL"].pop("ACTIVATION_FUN", implied) in (implied, "swish"), c["MODEL"]
    for section in ("ANYNET", "REGNET"):
        assert c.get(section, {}).pop("HEAD_W", 0) == 0, c[section]
    return yaml.safe_dump(c)


def logits(fmt, path, x, extra):
    if fmt == "torchvision":
        import functools  # noqa: F401  (the expression may use it)
        import torchvision  # noqa: F401
        model = eval(extra)
        model.load_state_dict(torch.load(path, map_location="cpu"), strict=True)
        model.eval()
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    if fmt == "pycls":
        from pycls.core import builders, checkpoint
        from pycls.core.config import cfg

        cfg.merge_from_other_cfg(cfg.load_cfg(pycls_011_config(extra)))
        model = builders.build_model()
        epoch = checkpoint.load_checkpoint(path, model)
        assert epoch == 0, epoch
        model.eval()
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    if fmt == "torchscript":
        model = torch.jit.load(path)
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    if fmt == "onnx":
        import onnx
        import onnxruntime

        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        assert model.opset_import[0].version >= 17
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return session.run(None, {"input": x})[0]
    raise SystemExit(f"unknown format {fmt}")


def randomized(model):
    torch.manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(-0.3, 0.3)
                m.bias.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 1.5)
    return model


def make(kind, source, out):
    if kind == "torchvision":
        import functools  # noqa: F401
        import torchvision  # noqa: F401
        torch.save(randomized(eval(source)).state_dict(), out)
    elif kind == "pycls":
        from pycls.core import builders
        from pycls.core.config import cfg

        cfg.merge_from_other_cfg(cfg.load_cfg(pycls_011_config(source)))
        model = randomized(builders.build_model())
        torch.save({"epoch": 3, "model_state": model.state_dict(), "cfg": cfg.dump()}, out)
    else:
        raise SystemExit(f"unknown kind {kind}")


def main():
    fmt = sys.argv[1]
    if fmt == "same":
        return same(sys.argv[2], sys.argv[3])
    if fmt == "make":
        return make(*sys.argv[2:5])
    if fmt == "metadata":
        import json

        import onnx

        props = onnx.load(sys.argv[2]).metadata_props
        return print(json.dumps({p.key: p.value for p in props}))
    path, x, ref = sys.argv[2], np.load(sys.argv[3]), np.load(sys.argv[4])
    extra = sys.argv[5] if len(sys.argv) > 5 else None
    y = logits(fmt, path, x, extra)
    assert y.shape == ref.shape, f"shape {y.shape} vs {ref.shape}"
    rel = float(np.abs(y - ref).max() / np.abs(ref).max())
    print(f"{fmt}: max |diff| / max |ref| = {rel:.2e}")
    if not rel <= 1e-4:
        sys.exit(1)


if __name__ == "__main__":
    main()
