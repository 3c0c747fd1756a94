"""`shoal discovery`: a token service for etcd discovery, like discovery.etcd.io."""
