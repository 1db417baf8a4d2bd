// The machine's f32 FMA peak per core: 12 independent AVX-512 FMA chains.
// gcc -O3 -mavx512f scripts/peak_fma.c -o /tmp/peak_fma && /tmp/peak_fma   (run two at once for both cores)
// On the project machine: 117 GFLOP/s per core, also with two running (234 for the two cores).
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
int main(){
  __m512 a0=_mm512_set1_ps(1),a1=_mm512_set1_ps(1.1f),a2=_mm512_set1_ps(1.2f),a3=_mm512_set1_ps(1.3f),a4=_mm512_set1_ps(1.4f),a5=_mm512_set1_ps(1.5f),a6=_mm512_set1_ps(1.6f),a7=_mm512_set1_ps(1.7f),a8=_mm512_set1_ps(1.8f),a9=_mm512_set1_ps(1.9f),a10=_mm512_set1_ps(2.0f),a11=_mm512_set1_ps(2.1f);
  __m512 b=_mm512_set1_ps(0.9999999f), c=_mm512_set1_ps(1e-7f);
  struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0);
  long n=200000000;
  for(long k=0;k<n;k++){
#define F(x) x=_mm512_fmadd_ps(x,b,c);
F(a0)F(a1)F(a2)F(a3)F(a4)F(a5)F(a6)F(a7)F(a8)F(a9)F(a10)F(a11)
  }
  clock_gettime(CLOCK_MONOTONIC,&t1);
  double s=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)*1e-9;
  __m512 r=_mm512_add_ps(a0,_mm512_add_ps(a1,_mm512_add_ps(a2,_mm512_add_ps(a3,_mm512_add_ps(a4,_mm512_add_ps(a5,_mm512_add_ps(a6,_mm512_add_ps(a7,_mm512_add_ps(a8,_mm512_add_ps(a9,_mm512_add_ps(a10,a11)))))))))));
  float o[16]; _mm512_storeu_ps(o,r);
  printf("zmm %.1f GFLOP/s (r=%g)\n", n*12.0*32/s/1e9, o[0]);
}
