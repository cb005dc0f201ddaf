// threads.h: how the engine's OpenMP threads wait between parallel regions.
// A network runs hundreds of small parallel regions, so what idle threads do between them
// decides much of its speed on a small CPU. libgomp's default (spin 300,000 times, then sleep)
// made a student training step ~20x slower on the 2-core development VM than the best setting
// (9.9 vs 209 images/s), and sleeping at once (OMP_WAIT_POLICY=passive) paid a futex wake-up
// per region (112 images/s). A short spin catches the next region of the same layer without
// holding the core for long: OMP_WAIT_POLICY=active with GOMP_SPINCOUNT=3000 gave 205-209
// images/s, 1.4-1.9x faster than passive everywhere (student training, EfficientNet feature
// extraction, batch-1 latency of every model). GOMP_SPINCOUNT=3000 alone, with the policy left
// undefined, gave only 129-140 images/s, so both are set.
// libgomp reads these variables once, when it is loaded, so the program must have them in its
// environment before it starts: use_short_spin_openmp() re-executes the program once with
// them set, unless the user chose OMP_WAIT_POLICY or GOMP_SPINCOUNT.
#pragma once
namespace cudistill {
void use_short_spin_openmp(int argc, char** argv);
}  // namespace cudistill
