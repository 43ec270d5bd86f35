"""A jsonl trainer for the sweep tests, run as a sweep's TRAINER (FORMAT
jsonl): it builds the job's AnyNet with torchvision's own RegNet classes
(stem, stages of ResBottleneckBlocks, head), trains it on CPU with SGD at the
job's learning rate schedule, and prints one JSON line per epoch. It
checkpoints every epoch with its history, and a resumed run prints its
history again first (which the sweep must not record twice).

usage: torchvision_trainer.py CONFIG OUT_DIR
"""
import json
import math
import os
import sys
import time

import torch
import yaml
from torchvision.models.regnet import BlockParams, RegNet

import fmnist


def build(cfg):
    a = cfg["ANYNET"]
    assert a["BLOCK_TYPE"] == "res_bottleneck_block", a["BLOCK_TYPE"]
    params = BlockParams(
        depths=a["DEPTHS"],
        widths=a["WIDTHS"],
        group_widths=a["GROUP_WS"],
        bottleneck_multipliers=a["BOT_MULS"],
        strides=a["STRIDES"],
        se_ratio=a["SE_R"] if a["SE_ON"] else None,
    )
    return RegNet(params, num_classes=cfg["MODEL"]["NUM_CLASSES"], stem_width=a["STEM_W"])


def main(cfg_file, out_dir):
    with open(cfg_file) as f:
        cfg = yaml.safe_load(f)
    torch.manual_seed(cfg["RNG_SEED"])
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with open(os.path.join(out_dir, "trainer.pid"), "w") as f:
        f.write(str(os.getpid()))
    model, o = build(cfg), cfg["OPTIM"]
    sgd = torch.optim.SGD(model.parameters(), lr=o["BASE_LR"], momentum=o["MOMENTUM"],
                          weight_decay=o["WEIGHT_DECAY"], nesterov=o["NESTEROV"])
    ckpt, history = os.path.join(out_dir, "ckpt.pt"), []
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        sgd.load_state_dict(state["sgd"])
        history = state["history"]
        for line in history:
            print(json.dumps(line), flush=True)
    (x_train, y_train), (x_test, y_test) = fmnist.load(os.environ["REGNET_DATA"], cfg["TRAIN"]["IM_SIZE"])
    epochs, bs = o["MAX_EPOCH"], cfg["TRAIN"]["BATCH_SIZE"]
    for epoch in range(len(history), epochs):
        fmnist.faults(out_dir, epoch)
        start = time.time()
        lr = 0.5 * o["BASE_LR"] * (1.0 + math.cos(math.pi * epoch / epochs))
        for g in sgd.param_groups:
            g["lr"] = lr
        model.train()
        loss_sum, wrong, seen = 0.0, 0, 0
        for i, (x, y) in enumerate(fmnist.batches(x_train, y_train, bs, epoch)):
            out = model(x)
            loss = torch.nn.functional.cross_entropy(out, y)
            sgd.zero_grad()
            loss.backward()
            sgd.step()
            loss_sum += loss.item() * len(y)
            wrong += (out.argmax(1) != y).sum().item()
            seen += len(y)
            if not os.environ.get("TRAINER_TEST_RECORDS"):
                print(json.dumps({"progress": seen / len(x_train)}), flush=True)
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(x) for x, _ in fmnist.batches(x_test, y_test, 256)])
        top5 = out.topk(5, 1).indices
        line = {
            "epoch": epoch + 1,
            "test_top1_err": 100.0 * (out.argmax(1) != y_test).float().mean().item(),
            "test_top5_err": 100.0 * (1.0 - (top5 == y_test[:, None]).any(1).float().mean().item()),
            "train_loss": loss_sum / seen,
            "train_top1_err": 100.0 * wrong / seen,
            "lr": lr,
            "seconds": time.time() - start,
            "torchvision_params": sum(p.numel() for p in model.parameters()),
        }
        if os.environ.get("TRAINER_TEST_GARBAGE") and epoch == 1:
            print('{"epoch": 2, "test_top1_err": NaN}', flush=True)
        history.append(line)
        torch.save({"model": model.state_dict(), "sgd": sgd.state_dict(), "history": history}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)
        records = os.environ.get("TRAINER_TEST_RECORDS")
        if records:  # TRAINER.FILE: records in a file, words on stdout
            with open(records, "a") as f:
                f.write(json.dumps(line) + "\n")
            print("epoch {} done".format(epoch + 1), flush=True)
        else:
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
