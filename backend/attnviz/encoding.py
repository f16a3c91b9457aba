"""Encodings of the attention weights of a document: nested JSON lists, or compact base64.

The compact forms hold one kind (all layers) as one object::

    {"dtype": "float16", "shape": [L, H, T_q, T_k], "data": "<base64, little-endian, C order>"}
    {"dtype": "uint8",   "shape": [L, H, T_q, T_k], "scale": 1/255, "compand": "sqrt", "data": "<base64>"}

A uint8 weight is ``(value * scale) ** 2`` (square-root companding: small weights, the many, get
fine steps; ``compand`` absent = an older linear ``value * scale``). Each row is quantised with
error feedback, so its decoded sum stays within half a step of the true one (≥ 99.5 % of the row's
mass) and a weight that is not 0 never decodes to 0 once it is visible (≥ 1/255²).
Decoded, a compact document is the JSON document up to the encoding's rounding (float16: about
3 significant digits; uint8: a step of 2·sqrt(w)/255 around w).
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np

Encoding = Literal["json", "float16", "uint8"]
ENCODINGS: tuple[Encoding, ...] = ("json", "float16", "uint8")
UINT8_SCALE = 1.0 / 255.0
# the smallest weight that rounds to a non-zero code by itself: (0.5 / 255)²
SHOWN_MIN = np.float32((0.5 / 255.0) ** 2)


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
    if encoding in ("float16", "uint8"):
        return compact(arr, encoding)
    raise ValueError(f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")


def compact(weights: np.ndarray, dtype: str, *, per_cell: bool = False) -> dict[str, Any]:
    """``weights`` as a compact object: ``float16``, or ``uint8`` square-root companded along each
    row so a row keeps its mass (:func:`compand_uint8`); ``per_cell``: each cell its own nearest
    step instead (block maxima and tiles are not rows of shares), a visible weight never 0."""
    arr = np.asarray(weights, dtype=np.float32)
    if dtype == "float16":
        data = arr.astype("<f2").tobytes(order="C")
        return {"dtype": "float16", "shape": list(arr.shape), "data": base64.b64encode(data).decode("ascii")}
    if per_cell:
        q = np.minimum(np.rint(np.sqrt(np.maximum(arr, 0)) * 255), 255).astype(np.uint8)
        q[(arr >= SHOWN_MIN) & (q == 0)] = 1
    else:
        q = compand_uint8(arr)
    return {
        "dtype": "uint8",
        "shape": list(arr.shape),
        "scale": UINT8_SCALE,
        "compand": "sqrt",
        "data": base64.b64encode(q.tobytes(order="C")).decode("ascii"),
    }


def compand_uint8(weights: np.ndarray) -> np.ndarray:
    """``round(sqrt(w) * 255)`` along each row (last axis) with the rounding error carried to the
    row's next non-zero weight, so a row's decoded sum keeps its mass; a non-zero weight that
    rounds to 0 on its own may carry up or down, one that does not stays ≥ 1; exact zeros (masked
    cells) stay 0."""
    arr = np.asarray(weights, dtype=np.float32)
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=np.uint8)
    # key-major copy: each step below reads and writes one contiguous column of every row
    cols = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]).T)
    q_cols = np.empty(cols.shape, dtype=np.uint8)
    carry = np.zeros(cols.shape[1], dtype=np.float32)
    root = np.empty_like(carry)
    for k in range(cols.shape[0]):
        w = cols[k]
        live = w > 0
        target = np.where(live, w + carry, np.float32(0))
        np.sqrt(np.maximum(target, 0, out=root), out=root)
        q = np.minimum(np.rint(root * 255), 255)
        # a weight big enough to show on its own never becomes 0 through a negative carry
        q[live & (w >= SHOWN_MIN)] = np.maximum(q[live & (w >= SHOWN_MIN)], 1)
        q_cols[k] = q
        carry = np.where(live, target - (q / np.float32(255)) ** 2, carry)
    return np.ascontiguousarray(q_cols.T).reshape(arr.shape)


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
        linear = np.frombuffer(raw, dtype=np.uint8).reshape(shape).astype(np.float64) * float(value["scale"])
        return (linear**2 if value.get("compand") == "sqrt" else linear).astype(np.float32)
    raise ValueError(f"unknown compact dtype {value['dtype']!r}")


def decode_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` whose attentions are nested JSON lists, whatever encoding it came in."""
    out = dict(doc)
    out["attentions"] = {k: decode_weights(v).tolist() for k, v in doc["attentions"].items()}
    out["encoding"] = "json"
    return out
