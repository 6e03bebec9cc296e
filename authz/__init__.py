"""Authorization: the Casbin model and policy, the principal, SQL filters and field masking.

One enforcement path: services call ``Authorizer.require`` for single operations and
``authz.filters.scope_filter`` (one SQL boolean compiled from the same
rules) for lists; nothing else decides who may do what.
"""
