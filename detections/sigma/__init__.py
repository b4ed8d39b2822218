"""Sigma rules (SigmaHQ's Entra ID rules, or a tenant's own) run as rules of the registry.

pySigma parses the rules and maps their field names (``pipeline``); this package turns the
parsed detection tree into a pure predicate over the canonical events (``compile``). Reading
rule files is the service's (``service.sigma.loader``): nothing here touches a file.
pySigma is only used while compiling: matching an event calls no pySigma code at all.
"""
