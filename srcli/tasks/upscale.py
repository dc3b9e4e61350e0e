"""The SR task an :class:`srcli.checkpoints.plan.UpscalePlan` asks for: box PD and exact quantisation
(:class:`srcli.tasks.sr.Upscale`), the round trip under a known degradation or noise
(:class:`srcli.tasks.sr_degraded.UpscaleDegraded`), or a kernel-conditioned network
(:class:`srcli.tasks.usrnet.UpscaleUnfolded`)."""

from __future__ import annotations

from srcli.checkpoints.plan import UpscalePlan
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import Upscale
from srcli.tasks.sr_degraded import UpscaleDegraded
from srcli.tasks.usrnet import UpscaleUnfolded


def upscale_task(plan: UpscalePlan, options: RunOptions) -> Upscale | UpscaleDegraded | UpscaleUnfolded:
    """The task of :func:`srcli.tasks.run.run_file` that runs ``plan`` with ``options``."""
    if plan.kernel_conditioned:
        return UpscaleUnfolded(
            plan.stages, options, plan.degradation, plan.noise, factor=plan.scale, network_noise=plan.noise
        )
    if plan.plain:
        return Upscale(plan.stages, options, plan.scale, jpeg=plan.jpeg, jpeg_stages=plan.jpeg_stages)
    return UpscaleDegraded(plan.stages, options, plan.degradation, plan.noise, plan.scale)
