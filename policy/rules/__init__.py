"""The rules, one module each, as pure functions; ``policy.registry`` lists them."""
