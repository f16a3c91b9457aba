"""Encodings of the attention weights of a document: nested JSON lists, or compact base64.

The compact forms hold one kind (all layers) as one object::

    {"dtype": "float16", "shape": [L, H, T_q, T_k], "data": "<base64, little-endian, C order>"}
    {"dtype": "uint8",   "shape": [L, H, T_q, T_k], "scale": 1/255, "data": "<base64>"}

A uint8 weight is ``value * scale``. Decoded, a compact document is the JSON document up to the
encoding's rounding (float16: about 3 significant digits; uint8: ±scale/2).
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np

Encoding = Literal["json", "float16", "uint8"]
ENCODINGS: tuple[Encoding, ...] = ("json", "float16", "uint8")
UINT8_SCALE = 1.0 / 255.0


def rounded(weights: np.ndarray, precision: int) -> np.ndarray:
    """``weights`` rounded to ``precision`` decimals in float64, so they serialise without float32
    noise (0.1235 as ``0.1235``, not ``0.12349999...``)."""
    return np.round(np.asarray(weights, dtype=np.float64), precision)


def round_weights(weights: np.ndarray, precision: int) -> list[Any]:
    """Nested lists of :func:`rounded` weights."""
    return rounded(weights, precision).tolist()  # type: ignore[no-any-return]


def encode_weights(weights: np.ndarray, encoding: Encoding, precision: int = 4, *, json_as_array: bool = False) -> Any:
    """One kind's ``(L, H, T_q, T_k)`` weights in the given encoding.

    ``json_as_array``: for ``"json"``, return the rounded float64 array itself instead of nested
    lists, for a caller that serialises with ``orjson.OPT_SERIALIZE_NUMPY`` (same bytes, without
    building a million Python floats first: the service's path).
    """
    arr = np.asarray(weights, dtype=np.float32)
    if encoding == "json":
        return rounded(arr, precision) if json_as_array else round_weights(arr, precision)
    if encoding == "float16":
        data = arr.astype("<f2").tobytes(order="C")
        return {"dtype": "float16", "shape": list(arr.shape), "data": base64.b64encode(data).decode("ascii")}
    if encoding == "uint8":
        q = np.clip(np.rint(arr / UINT8_SCALE), 0, 255).astype(np.uint8)
        return {
            "dtype": "uint8",
            "shape": list(arr.shape),
            "scale": UINT8_SCALE,
            "data": base64.b64encode(q.tobytes(order="C")).decode("ascii"),
        }
    raise ValueError(f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")


def decode_weights(value: Any) -> np.ndarray:
    """The float32 ``(L, H, T_q, T_k)`` array of one kind, from any encoding."""
    if isinstance(value, list):
        return np.asarray(value, dtype=np.float32)
    if not isinstance(value, dict) or "dtype" not in value:
        raise ValueError("attention weights must be nested lists or a compact {dtype, shape, data} object")
    shape = tuple(int(s) for s in value["shape"])
    raw = base64.b64decode(value["data"])
    if value["dtype"] == "float16":
        return np.frombuffer(raw, dtype="<f2").reshape(shape).astype(np.float32)
    if value["dtype"] == "uint8":
        return (np.frombuffer(raw, dtype=np.uint8).reshape(shape).astype(np.float32) * float(value["scale"])).astype(np.float32)
    raise ValueError(f"unknown compact dtype {value['dtype']!r}")


def decode_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` whose attentions are nested JSON lists, whatever encoding it came in."""
    out = dict(doc)
    out["attentions"] = {k: decode_weights(v).tolist() for k, v in doc["attentions"].items()}
    out["encoding"] = "json"
    return out
