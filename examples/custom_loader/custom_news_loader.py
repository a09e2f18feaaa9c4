"""Data loader file for the news data (examples/custom_loader).

Mirrors the seed's custom_news_loader.py: it reads the ``day_YYYY-MM-DD.csv``
files between ``start_time`` and ``end_time`` from a source that needs
credentials — here the example's data server, whose address and token
come from the custom integration as ``integration_dict``:

    NEWS_API_URL    not sensitive   e.g. http://127.0.0.1:8123
    NEWS_API_TOKEN  workspace secret

assay calls ``get_news_data`` in a child Python process with the loader
kwargs (``start_time`` and ``end_time``: seconds since the epoch, UTC) and
the integration's variables; the token reaches it on the runner's stdin.
"""
import io
import json
import urllib.request
from datetime import datetime, timezone

import pandas as pd


def _get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read()


def get_news_data(start_time: int, end_time: int, integration_dict: dict) -> pd.DataFrame:
    start = datetime.fromtimestamp(start_time, tz=timezone.utc).replace(tzinfo=None)
    end = datetime.fromtimestamp(end_time, tz=timezone.utc).replace(tzinfo=None)
    base = integration_dict["NEWS_API_URL"].rstrip("/")
    token = integration_dict["NEWS_API_TOKEN"]

    frames = []
    for name in json.loads(_get(base + "/files", token)):
        if not name.endswith(".csv"):
            continue
        file_time = datetime.strptime(name.replace("day_", "").replace(".csv", ""), "%Y-%m-%d")
        if start <= file_time <= end:
            frames.append(pd.read_csv(io.BytesIO(_get(base + "/files/" + name, token)),
                                      parse_dates=["timestamp"]))
    print("loaded %d daily files" % len(frames))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
