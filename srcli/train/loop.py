"""The training loop every ``srcli train`` command shares: resumable, logged, plotted.

:func:`fit` owns the run: it checks the run folder (a new run, or ``--resume`` of one with the same
schedule), loads the data, seeds and builds the network through the task, starts it from
``--init`` or fresh, restores a checkpoint, trains, validates, logs, checkpoints, exports and keeps
the best export. A task (:class:`Task`) brings only what differs: its network, batches, loss,
validation and header.

Every step's batch is drawn from a generator seeded by ``(seed, step)`` and the learning rate
is a function of the step alone, so a run resumed from a checkpoint repeats the loss curve
of an uninterrupted run exactly.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from srcli.checkpoints.load import load_state_dict, read_metadata, save_checkpoint
from srcli.errors import TrainError, first_line
from srcli.train.config import TrainRun
from srcli.train.data import load_training_images, validation_files
from srcli.train.ema import WeightAverage
from srcli.train.interrupt import stop_requests
from srcli.train.plot import line_chart
from srcli.train.state import (
    Trained,
    WeightsFit,
    is_state,
    load_state,
    restore_average,
    save_state,
    saved_init_seconds,
    saved_schedule,
    saved_training_seconds,
)

LOG_FIELDS = ["step", "loss", "val_psnr_y", "lr", "seconds"]
BEST_WEIGHTS = "best.safetensors"  # in the run folder: the export with the highest validation PSNR
Report = Callable[[dict[str, str]], None]


class Task:
    """One training task for :func:`fit`; a task module subclasses it for its configuration.

    :func:`fit` calls, in order: :meth:`prepare` (the loaded training images and validation
    files), :meth:`build_net` (under the run's seed), :meth:`load_init` or :meth:`initialize`
    (not when resuming: the checkpoint replaces the weights), :meth:`wrap`, :meth:`critics`;
    then every step :meth:`draw_batch`, :meth:`loss` and each critic's :meth:`critic_loss`;
    for every log row :meth:`loss_terms`, :meth:`validate`, :meth:`header` and :meth:`export`;
    at the end :meth:`finish`. With ``--ema`` the weight average is in :attr:`average` before the first
    step (a loss may use it; it is updated after each of the model's steps).
    """

    curve = ""  # the convergence chart's line label (ASCII: Pillow's default font has no ×)
    title = ""
    y_label = "PSNR (dB)"
    min_side = 1  # training photos with a side under this are left out
    rescales: tuple[float, ...] = ()  # resized copies of the training photos (Lanczos)
    keep_best = True  # copy the export with the best validation PSNR to BEST_WEIGHTS
    columns: tuple[str, ...] = ()  # loss terms and validation measures logged beside loss and val_psnr_y
    average: WeightAverage | None = None  # the run's weight average (``--ema``), set by :func:`fit`

    def prepare(self, images: list[torch.Tensor], val_files: list[Path], report: Report) -> None:
        """Keep the training images ``(3, H, W)`` uint8 and validation files (and derive from them)."""
        raise NotImplementedError

    def build_net(self) -> nn.Module:
        """The network the run trains and saves, freshly built."""
        raise NotImplementedError

    def initialize(self, net: nn.Module) -> None:
        """Start a fresh network (no ``--init``): :func:`initialize` unless the task knows better."""
        initialize(net)

    def load_init(self, net: nn.Module, path: Path) -> None:
        """Start from the ``--init`` weights at ``path``, through :meth:`fit_weights` (an unreadable file or one
        that does not fit: one line)."""
        try:
            net.load_state_dict(self.fit_weights(load_state_dict(path)), strict=True)
        except (ValueError, RuntimeError) as error:
            raise init_does_not_fit(path, error) from None

    def fit_weights(self, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``--init`` weights, or a warm start's saved ones, in this run's network layout (a deeper network started
        from a shallower one, computing what it computed); unchanged unless the task knows how. A layout it cannot
        fit: ``ValueError``."""
        return weights

    def wrap(self, net: nn.Module) -> nn.Module:
        """The started network as it is trained and validated (inside PD, usually); the task keeps both."""
        raise NotImplementedError

    def critics(self) -> dict[str, nn.Module]:
        """Networks trained beside the model, each by its own Adam on :meth:`critic_loss` after the
        model's step (a GAN's discriminator), checkpointed with it; none by default."""
        return {}

    def draw_batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(input, target)`` for one step, drawn from ``generator`` alone."""
        raise NotImplementedError

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The model's loss on a batch (a scalar to minimise)."""
        raise NotImplementedError

    def critic_loss(self, name: str) -> torch.Tensor:
        """Critic ``name``'s loss on the step's batch (after the model's update)."""
        raise NotImplementedError

    def loss_terms(self) -> dict[str, float]:
        """The task's own loss terms, each averaged over the steps since the last row (then reset),
        for the log; none by default."""
        return {}

    def validate(self) -> dict[str, float]:
        """Validation measures: ``val_psnr_y`` (the PSNR in dB the chart shows and the best export is
        chosen by) and any others; the loop switches the model to eval mode around it."""
        return {}

    def header(self, row: dict[str, str]) -> dict[str, str]:
        """What the exported weights' header says of the task and of the validation ``row``."""
        raise NotImplementedError

    def export(self, out: Path, net: nn.Module, header: dict[str, str]) -> None:
        """Write the weights with their header: a registered network's checkpoint by default."""
        save_checkpoint(out, net, header)

    def finish(self, net: nn.Module, out: Path, report: Report) -> None:
        """After the last step (the colorizer calibrates its decoding here); nothing by default."""


def drained_means(terms: dict[str, list[float]]) -> dict[str, float]:
    """Each loss term's mean over the values gathered since the last log row (terms without any left out), the lists
    emptied for the next: what a task's :meth:`Task.loss_terms` returns."""
    means = {name: sum(values) / len(values) for name, values in terms.items() if values}
    for values in terms.values():
        values.clear()
    return means


def init_does_not_fit(path: Path, error: Exception) -> TrainError:
    """The one line for start weights at ``path`` that ``load_state_dict`` (or a resampling before it) refused
    with ``error``: torch's last line names the tensor."""
    return TrainError(f"--init {path} does not fit this network: {str(error).strip().splitlines()[-1].strip()}")


def initialize(net: nn.Module) -> None:
    """Kaiming-normal convolutions (PReLU slope 0.25) and a zero last convolution.

    The network then starts as its skip connection (nearest upsampling, which PD turns into
    ``A⁺y``) and learns from there. PyTorch's default initialisation leaves a deep compact
    body with vanishing signal: measured here, such a run stayed at nearest-neighbour PSNR
    for its first 1000 steps, while this one passes bicubic within 200.
    """
    convolutions = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    for conv in convolutions[:-1]:
        nn.init.kaiming_normal_(conv.weight, a=0.25, nonlinearity="leaky_relu")
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
    nn.init.zeros_(convolutions[-1].weight)
    if convolutions[-1].bias is not None:
        nn.init.zeros_(convolutions[-1].bias)


def cosine_lr(step: int, config: TrainRun) -> float:
    progress = min(step / config.steps, 1.0)
    return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1 + math.cos(math.pi * progress))


def _read_log(path: Path, up_to_step: int) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if int(row["step"]) <= up_to_step]


def _write_log(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(path)


def recorded_training_seconds(weights: Path | None) -> float:
    """The training time a weights file's header records, with the runs before it (0 without one)."""
    header = read_metadata(weights) if weights else {}
    return float(header.get("train_seconds_total", header.get("train_seconds", 0)))


def _start(config: TrainRun, resume: bool) -> bool:
    """Check the run folder: True to go on from its checkpoint (``resume`` and one that exists,
    written for this schedule), False for a new run (refused if a checkpoint is there)."""
    state_path = config.run_dir / "state.safetensors"
    if not state_path.exists():
        return False
    if not resume:
        raise TrainError(f"{state_path} exists: pass --resume to continue it, or choose another run folder")
    saved = saved_schedule(state_path)
    if saved != json.loads(json.dumps(config.schedule_key())):  # compared as it reads back from the file
        raise TrainError(f"{state_path} was written with other settings: {json.dumps(saved)}")
    return True


def fit(task: Task, config: TrainRun, resume: bool, report: Report = print) -> Path:
    """Run ``task`` with ``config``: from its checkpoint with ``resume``, else from ``--init`` or fresh.

    Adam and a cosine schedule; validates, logs, checkpoints and exports to ``config.out`` every
    ``val_every`` steps and when the run stops (end of schedule, ``--minutes``, ``--stop-at``,
    Ctrl-C or SIGTERM), keeping the export with the highest validation PSNR as :data:`BEST_WEIGHTS`
    (unless the task keeps the last). With ``config.ema``, what is validated and exported is the
    weight average (:mod:`srcli.train.ema`). A resume reads neither the ``--init`` file nor its
    header: the checkpoint holds the weights and the start weights' training time. An ``--init`` that is
    another run's state is a warm restart (:func:`_warm_start`). Returns ``config.out``.
    """
    resuming = _start(config, resume)
    warm_from = config.init if not resuming and config.init is not None and is_state(config.init) else None
    state_path = config.run_dir / "state.safetensors"
    val_files = validation_files(config.val)
    task.prepare(load_training_images(config.data, task.min_side, task.rescales), val_files, report)
    net, model, optimizer, critics = _networks(task, config, resuming or warm_from is not None)
    step, seconds = load_state(state_path, net, optimizer, critics) if resuming else (0, 0.0)
    if warm_from is not None:
        _warm_start(warm_from, net, optimizer, critics, task.fit_weights)
    recorded = saved_init_seconds(state_path) if resuming else None  # None where the state does not record it
    if recorded is None:
        recorded = saved_training_seconds(warm_from) if warm_from else recorded_training_seconds(config.init)
    config.init_seconds = recorded
    log_path = config.run_dir / "log.csv"
    fields = [*LOG_FIELDS, *(f"loss_{name}" for name in critics), *task.columns]
    rows = _read_log(log_path, step)
    config.run_dir.mkdir(parents=True, exist_ok=True)  # only now: a run refused earlier leaves no folder
    (config.run_dir / "config.json").write_text(json.dumps(asdict(config), default=str, indent=2))
    average = WeightAverage(net, config.ema) if config.ema is not None else None
    average_from = state_path if step else warm_from  # a resumed run's own average, or the warm start's
    if average is not None and average_from is not None:
        restore_average(average_from, average, task.fit_weights if warm_from is not None else None)
    task.average = average
    with stop_requests() as stop:  # Ctrl-C or kill: checkpoint after the current step, then return
        started, first_step = time.monotonic(), step
        losses: dict[str, list[float]] = {"loss": [], **{f"loss_{name}": [] for name in critics}}
        model.train()
        while step < config.steps:
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
            inputs, targets = task.draw_batch(generator)
            learning_rate = cosine_lr(step, config)
            for trained_optimizer in (optimizer, *(pair[1] for pair in critics.values())):
                for group in trained_optimizer.param_groups:
                    group["lr"] = learning_rate
            losses["loss"].append(_descend(optimizer, task.loss(inputs, targets)))
            if average is not None:
                average.update(net)
            for name, (_, critic_optimizer) in critics.items():
                losses[f"loss_{name}"].append(_descend(critic_optimizer, task.critic_loss(name)))
            step += 1
            elapsed = seconds + time.monotonic() - started
            out_of_time = (
                stop.requested
                or (config.minutes is not None and time.monotonic() - started >= config.minutes * 60)
                or (config.stop_at is not None and step >= config.stop_at)
            )
            if step % config.val_every == 0 or step == config.steps or out_of_time:
                row = {"step": str(step)} | {name: f"{sum(v) / len(v):.6f}" for name, v in losses.items()}
                row |= {name: f"{value:.6f}" for name, value in task.loss_terms().items()}
                row |= {"val_psnr_y": "", "lr": f"{learning_rate:.3e}", "seconds": f"{elapsed:.1f}"}
                _validate_and_export(task, config, model, net, average, step, row)
                if task.keep_best:
                    keep_if_best(config, rows, row)
                rows.append(row)
                for values in losses.values():
                    values.clear()
                seconds_per_step = (time.monotonic() - started) / (step - first_step)
                report(row | {"left": format_duration(seconds_per_step * (config.steps - step))})
                save_state(
                    state_path, net, optimizer, step, elapsed, config.schedule_key(), average, config.init_seconds,
                    critics,
                )  # fmt: skip
                _write_log(log_path, fields, rows)
                _plot(rows, config.run_dir / "convergence.png", task)
            if out_of_time:
                break
    task.finish(net, config.out, report)
    return config.out


def _warm_start(
    path: Path, net: nn.Module, optimizer: torch.optim.Optimizer, critics: dict[str, Trained], fit: WeightsFit
) -> None:
    """Start from another run's state under this run's schedule (step 0): the model, its Adam moments and
    every critic with its own (a GAN's discriminator stays matched to its generator); the weight average
    follows in :func:`fit`. The model's weights go through ``fit`` (:meth:`Task.fit_weights`: a deeper
    network starts as the saved one, with a fresh Adam). A state of another network, or without this task's
    critics, is refused."""
    try:
        load_state(path, net, optimizer, critics, fit)
    except (KeyError, RuntimeError, ValueError) as error:
        raise TrainError(f"{path} is the state of another kind of run: {first_line(error)}") from None


def _networks(
    task: Task, config: TrainRun, resuming: bool
) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer, dict[str, Trained]]:
    """The task's network (seeded; started from ``--init`` or fresh unless a checkpoint will replace
    its weights), the model around it, its Adam, and the critics with theirs."""
    torch.manual_seed(config.seed)
    net = task.build_net()
    if resuming:
        pass  # a checkpoint replaces the weights (this run's, or another's for a warm restart)
    elif config.init:
        task.load_init(net, config.init)
    else:
        task.initialize(net)
    model = task.wrap(net)
    critics = {name: (critic, _adam(critic, config)) for name, critic in task.critics().items()}
    return net, model, _adam(net, config), critics


def _adam(net: nn.Module, config: TrainRun) -> torch.optim.Optimizer:
    return torch.optim.Adam(net.parameters(), lr=config.lr, betas=(0.9, 0.99))


def _descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """One optimiser step on ``loss``; returns its value."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def _validate_and_export(
    task: Task,
    config: TrainRun,
    model: nn.Module,
    net: nn.Module,
    average: WeightAverage | None,
    step: int,
    row: dict[str, str],
) -> None:
    """Fill in ``row``'s validation measures and export the weights: the average's, if there is one."""
    with average.swapped_in(net) if average is not None else nullcontext():
        model.eval()
        measures = task.validate()
        model.train()
        row["val_psnr_y"] = f"{measures.pop('val_psnr_y', math.nan):.4f}"
        row |= {name: f"{value:.4f}" for name, value in measures.items()}
        task.export(config.out, net, _header(task, config, step, row))


def _header(task: Task, config: TrainRun, step: int, row: dict[str, str]) -> dict[str, str]:
    header = task.header(row)
    first = {key: header.pop(key) for key in list(header) if not key.startswith("val_")}
    run = {"data": config.data.name, "steps": str(step), **config.training_time(row["seconds"])}
    return first | run | header | {"command": config.command_line()}


def keep_if_best(config: TrainRun, earlier_rows: list[dict[str, str]], row: dict[str, str]) -> None:
    """Copy the weights just exported to ``config.out`` to the run folder's :data:`BEST_WEIGHTS`
    when ``row``'s validation PSNR is higher than every earlier row's (a run that peaks and then
    drifts down keeps its peak; the log is what a resumed run compares with)."""
    value = float(row["val_psnr_y"])
    if math.isnan(value) or any(float(earlier["val_psnr_y"]) >= value for earlier in earlier_rows):
        return
    best = config.run_dir / BEST_WEIGHTS
    temporary = best.with_name(f".{best.name}.tmp")
    shutil.copyfile(config.out, temporary)
    temporary.replace(best)


def format_duration(seconds: float) -> str:
    """``3h05m``, ``12m``: what is left of a schedule, to the minute."""
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def _plot(rows: list[dict[str, str]], path: Path, task: Task) -> None:
    """The task's validation PSNR against step, from the log rows, as a PNG chart."""
    points = [(float(r["step"]), float(r["val_psnr_y"])) for r in rows if r["val_psnr_y"] != "nan"]
    line_chart([(task.curve, points)], path, task.title, "step", task.y_label)
