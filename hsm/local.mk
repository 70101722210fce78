# hsm: see the folder's sources. (Filled in by the module.)
