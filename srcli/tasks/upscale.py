"""The SR task an :class:`srcli.checkpoints.plan.UpscalePlan` asks for: box PD and exact quantisation
(:class:`srcli.tasks.sr.Upscale`), the round trip under a known degradation or noise
(:class:`srcli.tasks.sr_degraded.UpscaleDegraded`), or a kernel-conditioned network
(:class:`srcli.tasks.usrnet.UpscaleUnfolded`)."""

from __future__ import annotations

from srcli.checkpoints.plan import UpscalePlan, plan_upscale
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import Upscale
from srcli.tasks.sr_degraded import UpscaleDegraded
from srcli.tasks.usrnet import UpscaleUnfolded

UpscaleTask = Upscale | UpscaleDegraded | UpscaleUnfolded


def planned_upscale(
    options: RunOptions,
    model: str | None = None,
    scale: int | None = None,
    degradation: str = "auto",
    realism: float | None = None,
    noise: float = 0.0,
) -> tuple[UpscalePlan, UpscaleTask]:
    """The plan of ``srcli upscale`` (:func:`srcli.checkpoints.plan.plan_upscale`: ``model`` a manifest name
    or checkpoint path, None for the shipped ones; ``scale`` None for the model's own, else ×4; each
    checkpoint loaded once) and the task that runs it with ``options``. The plan is picklable: a Ray worker
    builds its own task from it (:func:`upscale_task`)."""
    plan = plan_upscale(model, scale, degradation, realism, noise, options.ensemble)
    return plan, upscale_task(plan, options)


def upscale_task(plan: UpscalePlan, options: RunOptions) -> UpscaleTask:
    """The task of :func:`srcli.tasks.run.run_file` that runs ``plan`` with ``options``."""
    if plan.kernel_conditioned:
        return UpscaleUnfolded(
            plan.stages, options, plan.degradation, plan.noise, factor=plan.scale, network_noise=plan.noise
        )
    if plan.plain:
        return Upscale(plan.stages, options, plan.scale, jpeg=plan.jpeg, jpeg_stages=plan.jpeg_stages)
    return UpscaleDegraded(plan.stages, options, plan.degradation, plan.noise, plan.scale)
