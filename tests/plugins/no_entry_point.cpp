// A shared object without the Lumen entry point: the host must refuse it and go on.
extern "C" __attribute__((visibility("default"))) int not_a_lumen_plugin() {
  return 42;
}
