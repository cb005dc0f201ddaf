// threads.h: how the engine's OpenMP threads wait between parallel regions.
// By default libgomp lets idle threads spin for a while after each region. A network runs
// hundreds of small regions, and on the development VM the spinning threads slowed the serial
// code between them several-fold (batch-1 student 3.9 ms on one thread, 18.7 ms on two that spin,
// 5.6 ms on two that sleep; a ResNet training step 2.5x faster with sleeping threads), while
// large GEMMs keep their speed. libgomp reads OMP_WAIT_POLICY once, when it is loaded, so a
// program that wants "passive" must have it in its environment before it starts:
// use_passive_openmp() re-executes the program once with it set, unless the user chose a policy.
#pragma once

namespace cudistill {

void use_passive_openmp(int argc, char** argv);

}  // namespace cudistill
