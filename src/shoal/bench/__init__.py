"""`shoal bench`: shoal and etcd 3.4 side by side under the same load."""
