# milter/
