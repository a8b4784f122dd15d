"""raysl's Python wheel: the `raysl` command runs raysl's JavaScript bundle with a Node.js of its own."""
