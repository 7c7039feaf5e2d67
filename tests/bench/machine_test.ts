import { assertEquals } from "../_assert.ts";
import { machineKind, onednnState, parseCpuinfo } from "../../bench/machine.ts";

const AMD = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13 64-Core Processor
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 avx f16c avx2 bmi2 sha_ni
`;
const XEON = `processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
`;

Deno.test("parseCpuinfo keeps the model, vendor and only the vector flags", () => {
  assertEquals(parseCpuinfo(AMD), {
    cpuModel: "AMD EPYC 7B13 64-Core Processor",
    vendor: "AuthenticAMD",
    vectorFlags: ["fma", "avx", "f16c", "avx2"],
  });
  assertEquals(parseCpuinfo("").cpuModel, "unknown");
});

Deno.test("oneDNN follows TensorFlow's rule: on by default only with AVX512_VNNI/BF16, AVX_VNNI or AMX", () => {
  const amd = parseCpuinfo(AMD).vectorFlags, xeon = parseCpuinfo(XEON).vectorFlags;
  assertEquals(onednnState(amd, undefined).on, false);
  assertEquals(onednnState(xeon, undefined).on, true);
  assertEquals(onednnState(amd, "1"), { on: true, reason: "TF_ENABLE_ONEDNN_OPTS=1" });
  assertEquals(onednnState(xeon, "false").on, false);
  // An unreadable value leaves TensorFlow's default.
  assertEquals(onednnState(["avx512f"], "maybe").on, false);
});

Deno.test("machineKind names the CPU kind for a results file", () => {
  assertEquals(machineKind("AMD EPYC", ["avx2"]), "amd-epyc_avx2");
  assertEquals(machineKind("AMD EPYC 7B13 64-Core Processor", ["avx", "avx2"]), "amd-epyc-7b13_avx2");
  assertEquals(
    machineKind("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", parseCpuinfo(XEON).vectorFlags),
    "intel-xeon-platinum-8481c_amx",
  );
});
