"""The rank decision audit log (``log``) and the adverse-impact report built from it
(``impact``, ``hrstack audit impact``)."""
