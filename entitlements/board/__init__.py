"""The entitlement board and "why" answers for people: the same documents and engine as a check, in words."""
