"""The atom language model: a masked transformer over discrete atom features.

- :mod:`.tokenizer` (NumPy only): atom sets to integer feature tables and back.
- :mod:`.data`: audio / ``.atoms`` files to tokens, training windows and task masks.
- :mod:`.model`: the PyTorch model (feature-embedding sum, per-feature mask embeddings,
  transformer encoder, one head per feature, uncertainty-weighted loss).
- :mod:`.train`, :mod:`.infer`, :mod:`.evaluate`: training, the four inference tasks,
  evaluation against baselines.
"""
