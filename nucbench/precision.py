"""Numeric precision and memory format for training and inference, chosen per machine.

bfloat16 autocast helps on CPUs that do bf16 natively (AVX-512-bf16 / AMX) and hurts badly on
those that do not (on an AVX2-only EPYC it is about 6× slower than fp32). oneDNN's own check,
``torch.ops.mkldnn._is_mkldnn_bf16_supported()``, is not enough on x86: it also says yes on a plain
AVX-512 CPU, where oneDNN emulates bf16 and the paper's F trains 2.4× slower than in fp32
(``benchmarks/precision_choice.py``). So on x86 ``"auto"`` also asks
torch's cpuinfo for the AVX-512-bf16 or AMX instructions; elsewhere (ARM) oneDNN's answer stands.
On CUDA ``"auto"`` means float16 AMP (bf16 when the GPU supports it). The choice and the reason
are logged with the run.
"""

from __future__ import annotations

import contextlib
import logging
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PrecisionChoice", "choose_precision", "autocast"]

log = logging.getLogger(__name__)

Requested = Literal["auto", "fp32", "bf16", "fp16"]


@dataclass(frozen=True)
class PrecisionChoice:
    """What :func:`choose_precision` decided.

    Attributes
    ----------
    device : str
        ``"cpu"`` or ``"cuda"``.
    dtype : str
        ``"fp32"`` (no autocast), ``"bf16"`` or ``"fp16"`` (autocast to that type).
    channels_last : bool
        Whether tensors and modules use the channels-last memory format.
    reason : str
        One sentence, logged with the run.
    """

    device: str
    dtype: str
    channels_last: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (for run parameters)."""
        return {
            "device": self.device,
            "dtype": self.dtype,
            "channels_last": self.channels_last,
            "reason": self.reason,
        }


def _mkldnn_bf16_supported() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _x86_bf16_instructions() -> bool | None:
    """Whether the CPU has AVX-512-bf16 or AMX; None when it is not x86 (no such question)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return None
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def _cpu_bf16_native() -> tuple[bool, str]:
    """Whether bf16 autocast runs natively on this CPU, and why (for the log)."""
    if not _mkldnn_bf16_supported():
        return False, "CPU lacks bf16 (mkldnn bf16 unsupported)"
    instructions = _x86_bf16_instructions()
    if instructions is False:
        return False, "oneDNN would emulate bf16 (no AVX-512-bf16 or AMX instructions)"
    if instructions is None:
        return True, "CPU does bf16 natively (mkldnn bf16 supported)"
    return True, "CPU does bf16 natively (AVX-512-bf16 or AMX)"


def choose_precision(
    device: str = "cpu", requested: str = "auto", *, channels_last: bool = True
) -> PrecisionChoice:
    """Pick autocast dtype and memory format for `device`.

    Parameters
    ----------
    device : str
        ``"cpu"`` or ``"cuda"`` (``"cuda:0"`` etc. accepted).
    requested : {"auto", "fp32", "bf16", "fp16"}
        ``"auto"``: bf16 on a CPU that does bf16 natively, else fp32; on CUDA, bf16 when supported
        else fp16. Any other value is an explicit override and is honoured (with a warning when it
        is likely slow).
    channels_last : bool
        Use the channels-last memory format (default True).

    Returns
    -------
    PrecisionChoice

    Examples
    --------
    >>> choose_precision("cpu", "fp32").dtype
    'fp32'
    """
    kind = "cuda" if device.startswith("cuda") else "cpu"
    if requested not in ("auto", "fp32", "bf16", "fp16"):
        from nucbench.errors import ConfigError

        raise ConfigError(f"precision: expected auto, fp32, bf16 or fp16, got {requested!r}")
    if kind == "cpu":
        native, why = _cpu_bf16_native()
        if requested == "auto":
            dtype = "bf16" if native else "fp32"
            reason = f"{why}: {'bf16 autocast' if native else 'fp32'}"
        else:
            dtype = requested
            reason = f"precision {requested} requested in the config"
            if requested == "bf16" and not native:
                log.warning("bf16 requested on a CPU without native bf16: expect it to be slower than fp32")
            if requested == "fp16":
                reason += " (fp16 autocast on CPU is slow on most CPUs)"
    else:
        import torch

        if requested == "auto":
            dtype = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            reason = f"CUDA AMP with {dtype}"
        else:
            dtype = requested
            reason = f"precision {requested} requested in the config"
    choice = PrecisionChoice(device=device, dtype=dtype, channels_last=channels_last, reason=reason)
    log.info("precision: %s, channels_last=%s (%s)", dtype, channels_last, reason)
    return choice


@contextlib.contextmanager
def autocast(choice: PrecisionChoice) -> Iterator[None]:
    """Context manager running the enclosed forward pass in `choice`'s dtype (no-op for fp32)."""
    if choice.dtype == "fp32":
        yield
        return
    import torch

    dtype = torch.bfloat16 if choice.dtype == "bf16" else torch.float16
    device_type = "cuda" if choice.device.startswith("cuda") else "cpu"
    with torch.autocast(device_type=device_type, dtype=dtype):
        yield
