"""The PyTorch anchor of `npm run bench -- step`: the U-Net tfjs-zarr's unet3d builds, trained the
way tfjs-zarr trains it (Adam, binary cross-entropy masked by a mask channel), ms per step.

  /usr/bin/python3 bench/step_torch.py --threads 1 --batch 4 --shape 16,48,48 --base 8 --depth 2

Prints one JSON line: {"ms": [per-step times], "threads": n, "layout": ...}. Same architecture
as unet3d: per level two 3x3x3 convolutions ('same') with ReLU, 2x max pooling, nearest 2x
up-sampling, the skip concatenated before the up block's first convolution, a 1x1x1 convolution
and a sigmoid. `--layout auto` times both of PyTorch's memory layouts for a few steps and keeps
the faster (channels-first is usually faster on CPU, but not always).
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class UNet3d(nn.Module):
    def __init__(self, base, depth, channels=1, out=1):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv3d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv3d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))

        self.down = nn.ModuleList()
        c = channels
        for level in range(depth):
            self.down.append(block(c, base * 2 ** level))
            c = base * 2 ** level
        self.bottom = block(c, base * 2 ** depth)
        self.up = nn.ModuleList()
        for level in reversed(range(depth)):
            self.up.append(block(base * 2 ** level + base * 2 ** (level + 1), base * 2 ** level))
        self.pool = nn.MaxPool3d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')
        self.head = nn.Conv3d(base, out, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = block(torch.cat([skip, self.upsample(x)], 1))
        return torch.sigmoid(self.head(x))


def masked_bce(pred, target, mask, eps=1e-7):
    p = pred.clamp(eps, 1 - eps)
    loss = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
    return (loss * mask).sum() / torch.clamp(mask.sum(), min=eps)


def time_steps(args, layout, steps):
    torch.manual_seed(1)
    model = UNet3d(args.base, args.depth)
    fmt = torch.channels_last_3d if layout == 'channels_last' else torch.contiguous_format
    model = model.to(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    shape = (args.batch, 1, *args.shape)
    x = torch.rand(shape).contiguous(memory_format=fmt)
    target = (torch.rand(shape) > 0.5).float()
    mask = torch.ones(shape)
    times = []
    for i in range(args.warmup + steps):
        t = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = masked_bce(model(x), target, mask)
        loss.backward()
        optimizer.step()
        loss.item()
        if i >= args.warmup:
            times.append((time.perf_counter() - t) * 1000)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--shape', default='16,48,48')
    ap.add_argument('--base', type=int, default=8)
    ap.add_argument('--depth', type=int, default=2)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--layout', default='auto', choices=['auto', 'channels_first', 'channels_last'])
    args = ap.parse_args()
    args.shape = tuple(int(s) for s in args.shape.split(','))
    torch.set_num_threads(args.threads)
    layout = args.layout
    if layout == 'auto':
        trial = {name: min(time_steps(args, name, 3)) for name in ('channels_first', 'channels_last')}
        layout = min(trial, key=trial.get)
    times = time_steps(args, layout, args.steps)
    print(json.dumps({'ms': times, 'threads': torch.get_num_threads(), 'layout': layout,
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
