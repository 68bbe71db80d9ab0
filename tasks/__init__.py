"""The task contract: how each HR domain is asked and how its answer is assembled.

The domain table (configs/domains.yaml), prompt and payload building (with the decoding
constraints the validators build), input screening, redaction and rank input preparation live
here, below both the gateway (server/) and training (training/), which import them; this package
imports only validators/. One definition of "how a domain is asked and answered", and training
does not depend on the web layer.
"""
