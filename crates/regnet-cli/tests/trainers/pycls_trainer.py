"""A pycls trainer for the sweep tests, run as a sweep's TRAINER (FORMAT
pycls): it reads the job's pycls config, builds the network with pycls
0.1.1's own model code, trains it on CPU the way pycls's trainer does, and
logs through pycls's own meters and `dump_log_data`, so the sweep reads the
lines pycls writes. It resumes from its last checkpoint (pycls's
TRAIN.AUTO_RESUME), saved in OUT_DIR/checkpoints as pycls saves it.

usage: pycls_trainer.py CONFIG OUT_DIR
"""
import logging as std_logging
import os
import sys

# pycls 0.1.1 loads its own checkpoints with torch.load's old default
# (PyTorch 2.6 made it weights_only, which refuses the numpy scalars pycls's
# optimizer state holds); these are files this trainer wrote.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch  # noqa: E402

import pycls.core.builders as builders
import pycls.core.checkpoint as checkpoint
import pycls.core.logging as logging
import pycls.core.meters as meters
import pycls.core.optimizer as optim
from pycls.core.config import cfg

import fmnist

# On CPU: pycls asks CUDA for the memory it used.
meters.gpu_mem_usage = lambda: 0.0


def topk_errors(preds, labels, ks):
    """pycls 0.1.1's meters.topk_errors, with reshape where it calls view on
    a non-contiguous tensor (which PyTorch 2 refuses)."""
    _, top = torch.topk(preds, max(ks), dim=1, largest=True, sorted=True)
    correct = top.t().eq(labels.view(1, -1).expand_as(top.t()))
    return [(1.0 - correct[:k, :].reshape(-1).float().sum() / preds.size(0)) * 100.0 for k in ks]


def main(cfg_file, out_dir):
    # The job config carries keys newer pycls versions added; 0.1.1 keeps them.
    cfg.set_new_allowed(True)
    cfg.merge_from_file(cfg_file)
    cfg.OUT_DIR = out_dir
    cfg.LOG_PERIOD = 2
    logging.setup_logging()
    logger = std_logging.getLogger(__name__)
    torch.manual_seed(cfg.RNG_SEED)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with open(os.path.join(out_dir, "trainer.pid"), "w") as f:
        f.write(str(os.getpid()))
    model = builders.build_model()
    loss_fun = builders.build_loss_fun()
    optimizer = optim.construct_optimizer(model)
    start_epoch = 0
    if checkpoint.has_checkpoint():
        last = checkpoint.get_last_checkpoint()
        start_epoch = checkpoint.load_checkpoint(last, model, optimizer) + 1
        logger.info("Loaded checkpoint from: {}".format(last))
    (x_train, y_train), (x_test, y_test) = fmnist.load(os.environ["REGNET_DATA"], cfg.TRAIN.IM_SIZE)
    bs, test_bs = cfg.TRAIN.BATCH_SIZE, cfg.TEST.BATCH_SIZE
    train_meter = meters.TrainMeter((len(x_train) + bs - 1) // bs)
    test_meter = meters.TestMeter((len(x_test) + test_bs - 1) // test_bs)
    logger.info("Start epoch: {}".format(start_epoch + 1))
    for cur_epoch in range(start_epoch, cfg.OPTIM.MAX_EPOCH):
        fmnist.faults(out_dir, cur_epoch)
        lr = optim.get_epoch_lr(cur_epoch)
        optim.set_lr(optimizer, lr)
        model.train()
        train_meter.iter_tic()
        for cur_iter, (inputs, labels) in enumerate(fmnist.batches(x_train, y_train, bs, cur_epoch)):
            preds = model(inputs)
            loss = loss_fun(preds, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            top1_err, top5_err = topk_errors(preds, labels, [1, 5])
            loss, top1_err, top5_err = loss.item(), top1_err.item(), top5_err.item()
            train_meter.iter_toc()
            train_meter.update_stats(top1_err, top5_err, loss, lr, inputs.size(0))
            train_meter.log_iter_stats(cur_epoch, cur_iter)
            train_meter.iter_tic()
        train_meter.log_epoch_stats(cur_epoch)
        train_meter.reset()
        checkpoint.save_checkpoint(model, optimizer, cur_epoch)
        model.eval()
        test_meter.iter_tic()
        with torch.no_grad():
            for inputs, labels in fmnist.batches(x_test, y_test, test_bs):
                top1_err, top5_err = topk_errors(model(inputs), labels, [1, 5])
                test_meter.iter_toc()
                test_meter.update_stats(top1_err.item(), top5_err.item(), inputs.size(0))
                test_meter.iter_tic()
        test_meter.log_epoch_stats(cur_epoch)
        test_meter.reset()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
