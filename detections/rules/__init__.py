"""Every rule, one module each: the module ``detections.rules.<id>`` holds ``RULE``.

``detections.registry`` discovers the modules of this package; adding a rule is adding
its module here, nothing else. Ids (module names) never change.
"""
