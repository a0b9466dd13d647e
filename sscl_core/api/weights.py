"""Loading a state dict file into a freshly built backbone (``backbone.weights``), read with ``weights_only=True``:
plain, nested under ``state_dict``/``model``, or prefixed; keys the backbone lacks are skipped, the rest must fit."""

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from sscl_core.api.errors import SsclError

NESTED_KEYS = ("state_dict", "model")
"""Keys under which checkpoints nest their state dict."""
PREFIXES = ("", "module.", "backbone.", "encoder.", "model.", "module.backbone.", "module.encoder.")
"""Key prefixes tried when ``weights_prefix`` is not given; the one matching most of the backbone's keys wins."""
OPTIONAL_SUFFIX = "num_batches_tracked"
"""BatchNorm counters that older files lack; the backbone keeps its own when they are missing."""
WEIGHTS_ONLY_REFUSAL = "GLOBAL"
"""What torch.load(weights_only=True) names when a file would import a function or class (other bytes it cannot
decode only make the file unreadable)."""
SHOWN = 3
"""How many mismatches an error names."""


def read_state_dict(path: str | Path, where: str) -> dict[str, Tensor]:
    """The tensors of the state dict in ``path``, unnested; refused in one line naming ``where`` if unsafe."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SsclError(f"{where}: {path} does not exist: give the path of a state dict file (.pt or .pth)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if WEIGHTS_ONLY_REFUSAL not in str(error):
            raise SsclError(f"{where}: {path} cannot be read (not a torch file): give a state dict file") from None
        raise SsclError(
            f"{where}: {path} holds objects other than tensors and plain data and is refused (loading it could run "
            "code): save the weights alone, torch.save(model.state_dict(), FILE)"
        ) from None
    except Exception as error:  # a damaged or foreign file is the file's fault
        detail = type(error).__name__
        raise SsclError(f"{where}: {path} cannot be read ({detail}): it is not a torch state dict file") from None
    while isinstance(data, Mapping) and any(isinstance(data.get(key), Mapping) for key in NESTED_KEYS):
        data = next(data[key] for key in NESTED_KEYS if isinstance(data.get(key), Mapping))
    if not isinstance(data, Mapping):
        raise SsclError(f"{where}: {path} holds no state dict (names mapped to tensors, maybe under 'state_dict')")
    return {str(k): v for k, v in data.items() if isinstance(v, Tensor)}


def fitting_keys(own: Mapping[str, Tensor], given: Mapping[str, Tensor], prefix: str) -> tuple[dict, list[str]]:
    """The tensors of ``given`` under ``prefix`` that ``own`` has, renamed to ``own``'s keys, and the mismatches
    (each ``key: missing`` or ``key: shape A in the file, B here``)."""
    found = {key[len(prefix) :]: value for key, value in given.items() if key.startswith(prefix)}
    loaded, mismatches = {}, []
    for key, tensor in own.items():
        if key not in found:
            if not key.endswith(OPTIONAL_SUFFIX):
                mismatches.append(f"{key}: missing")
        elif found[key].shape != tensor.shape:
            mismatches.append(f"{key}: shape {list(found[key].shape)} in the file, {list(tensor.shape)} here")
        else:
            loaded[key] = found[key]
    return loaded, mismatches


def best_prefix(own: Mapping[str, Tensor], given: Mapping[str, Tensor], prefix: str | None) -> str:
    """``prefix`` if given, else the one of :data:`PREFIXES` under which ``given`` has most of ``own``'s keys."""
    if prefix is not None:
        return prefix
    return max(PREFIXES, key=lambda p: sum(1 for key in own if p + key in given))


def load_weights(network: nn.Module, path: str | Path, prefix: str | None, where: str) -> int:
    """Load the state dict file ``path`` into ``network`` (see the module's docstring); return the number of
    tensors loaded. A file that does not fit is one line naming the first mismatches."""
    given = read_state_dict(path, where)
    own = network.state_dict()
    chosen = best_prefix(own, given, prefix)
    loaded, mismatches = fitting_keys(own, given, chosen)
    if mismatches:
        more = f" and {len(mismatches) - SHOWN} more" if len(mismatches) > SHOWN else ""
        shown = "; ".join(mismatches[:SHOWN]) + more
        under = f" under prefix '{chosen}'" if chosen else ""
        raise SsclError(
            f"{where}: {path} does not fit this backbone{under} ({len(mismatches)} of {len(own)} tensors: {shown}): "
            "use weights of the same architecture, or set weights_prefix to the prefix of the backbone's keys"
        )
    network.load_state_dict(loaded, strict=False)
    return len(loaded)
