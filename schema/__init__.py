"""GraphQL schema (strawberry): types, queries, mutations. Resolvers stay thin: they call
``workflow`` services and shape the result."""
