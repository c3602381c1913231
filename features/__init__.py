"""Hook-based extraction of primitive tensors, the statistics bank and the classic zero-cost proxies."""
