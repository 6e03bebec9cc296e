"""Authorization: the Casbin model and policy, the principal, SQL filters and field masking.

One enforcement path: services call ``Authorizer.require`` for single operations and
``Authorizer.sql_filter`` for lists; nothing else decides who may do what.
"""
