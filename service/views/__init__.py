"""HTTP views, one blueprint per audience: senders, operators, orchestrators."""
