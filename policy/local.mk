# policy/
