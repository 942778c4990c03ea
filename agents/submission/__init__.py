"""Leaderboard submissions: a folder with ``submission.json`` and the policy as ONNX, checked and evaluated
without running any code from it (``manifest``, ``onnx_policy``), and the export of our own checkpoints to it
(``export``)."""
