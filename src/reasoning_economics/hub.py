"""The Hugging Face hub, reached within seconds or not at all.

``huggingface_hub`` retries a hub it cannot reach for tens of seconds per file: about 50 s
for a tokenizer, which a server's reset or a source's first load must not wait out. One
short request first tells whether the hub has the repository.
"""

from __future__ import annotations

HUB_PROBE_TIMEOUT_S = 5.0


def why_unreachable(repo_id: str, repo_type: str = "model") -> str | None:
    """Why ``repo_id`` cannot be fetched from the hub now (``"ConnectError: ..."``), or None
    when it can, or when offline mode (``HF_HUB_OFFLINE=1``) leaves it to the local cache."""
    import huggingface_hub

    if huggingface_hub.is_offline_mode():
        return None
    try:
        huggingface_hub.HfApi().repo_info(repo_id, repo_type=repo_type, timeout=HUB_PROBE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - DNS, refused, 404, gated: each means it cannot be fetched
        return f"{type(exc).__name__}: {exc}"
    return None
