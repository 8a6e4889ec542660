"""RQ workers: the delivery job, the Callbell client, the delivery policy and the worker fleet."""
