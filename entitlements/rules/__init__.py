"""Pure domain rules shared by services, forms and the compiler: the merge policy of entitlements, the shapes an
override may take, and typed trait values. No queries."""
