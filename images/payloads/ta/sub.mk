global-incdirs-y += . ../include
srcs-y += payload_ta.c
