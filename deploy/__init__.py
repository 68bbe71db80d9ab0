"""Deployment: fit planning, GPU profiles checks and the RunPod template/image.

`hrstack deploy plan` refuses an engine configuration that cannot fit a GPU before money is
spent; `hrstack deploy runpod` renders (and optionally saves) the pod template that runs the
image in ``deploy/runpod/``, and `hrstack deploy runpod-serverless` the Serverless template and
endpoint whose workers run ``deploy/serverless.py`` in that image. Code lives in this package;
the container assets live in ``deploy/runpod/`` and are read, never imported.
"""
