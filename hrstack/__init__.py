"""hrstack: the serving gateway, validators, training and deployment tools under one name.

The source keeps the design's top-level folders (``server/``, ``training/``, ``validators/``,
``deploy/``, ``tasks/``, ``configs/``); this package links them in as ``hrstack.server`` and so
on, so an installed hrstack puts one name in site-packages instead of generic ones such as
``server`` that collide with anything.
"""
