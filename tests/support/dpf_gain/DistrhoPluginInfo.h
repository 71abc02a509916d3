/* atomsynth test gain: a DPF effect used only by the atomsynth test-suite. */
#ifndef DISTRHO_PLUGIN_INFO_H_INCLUDED
#define DISTRHO_PLUGIN_INFO_H_INCLUDED

#define DISTRHO_PLUGIN_BRAND   "atomsynth"
#ifdef ATOMSYNTH_CRASH_ABOVE_DB
/* the crash-on-demand variant: abort() when Gain is set above ATOMSYNTH_CRASH_ABOVE_DB */
#define DISTRHO_PLUGIN_NAME    "atomsynth test crash"
#define DISTRHO_PLUGIN_URI     "urn:atomsynth:test-crash"
#define DISTRHO_PLUGIN_CLAP_ID "org.atomsynth.test-crash"
#else
#define DISTRHO_PLUGIN_NAME    "atomsynth test gain"
#define DISTRHO_PLUGIN_URI     "urn:atomsynth:test-gain"
#define DISTRHO_PLUGIN_CLAP_ID "org.atomsynth.test-gain"
#endif

#define DISTRHO_PLUGIN_HAS_UI      0
#define DISTRHO_PLUGIN_IS_RT_SAFE  1
#define DISTRHO_PLUGIN_IS_SYNTH    0
#define DISTRHO_PLUGIN_NUM_INPUTS  2
#define DISTRHO_PLUGIN_NUM_OUTPUTS 2
#define DISTRHO_PLUGIN_WANT_STATE  0

#define DISTRHO_PLUGIN_VST3_CATEGORIES "Fx|Tools|Stereo"
#define DISTRHO_PLUGIN_CLAP_FEATURES   "audio-effect", "utility", "stereo"

#endif
