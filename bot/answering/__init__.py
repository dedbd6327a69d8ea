"""The decision layer: what a question asks, who a clause makes responsible, and whether it answers.

`features` measures how well a clause fits a question; `model` turns those figures into a calibrated
probability with coefficients fitted on blind-written questions (`answerability.json`) and maps it to
a status: `answered`, `related` or `refused`.
"""
