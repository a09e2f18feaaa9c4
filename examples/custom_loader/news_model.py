"""examples/custom_loader/news_model.py — the clickbait model of the news example.

A model file as assay (and rime-sdk) expect it: ``predict_df(df)`` gets a
pandas DataFrame of the dataset's feature columns and returns the
probability of the positive class (clickbait) for each row. assay runs it
in a sandboxed child Python process, in batches.
"""
import numpy as np
import pandas as pd

SOURCE_WEIGHT = {"wire": -0.4, "paper": -0.3, "tv": 0.0, "blog": 0.5}


def predict_df(df: pd.DataFrame) -> np.ndarray:
    score = df["clickbait_score"].to_numpy(dtype=float)
    source = df["source"].map(SOURCE_WEIGHT).fillna(0.0).to_numpy(dtype=float)
    words = np.log(df["word_count"].to_numpy(dtype=float).clip(1, None))
    z = 12.0 * (score - 0.45) + source - 0.1 * (words - 6.0)
    return 1.0 / (1.0 + np.exp(-z))
