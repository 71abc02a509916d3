/*
 * atomsynth test gain (DPF).
 *
 *   out[c][i] = in[c][i] * 10^(Gain/20) * (Polarity ? -1 : +1)
 *
 * Parameters: 0 "Gain" dB, -60..+12, default 0 (symbol gain)
 *             1 "Polarity" boolean 0/1, default 0 (symbol polarity)
 * No smoothing, no latency, so a test can check every sample.
 */
#include "DistrhoPlugin.hpp"

#include <cmath>
#include <cstdlib>

START_NAMESPACE_DISTRHO

class AtomsynthTestGain : public Plugin
{
public:
    enum Parameters { kGain = 0, kPolarity, kParameterCount };

    AtomsynthTestGain()
        : Plugin(kParameterCount, 0, 0),
          fGainDb(0.0f),
          fPolarity(0.0f),
          fFactor(1.0f) {}

protected:
    const char* getLabel() const override { return "AtomsynthTestGain"; }
    const char* getDescription() const override { return "Gain in dB and polarity flip, for tests."; }
    const char* getMaker() const override { return "atomsynth"; }
    const char* getHomePage() const override { return "https://example.invalid/atomsynth"; }
    const char* getLicense() const override { return "ISC"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
#ifdef ATOMSYNTH_CRASH_ABOVE_DB
    int64_t getUniqueId() const override { return d_cconst('a', 's', 'T', 'c'); }
#else
    int64_t getUniqueId() const override { return d_cconst('a', 's', 'T', 'g'); }
#endif

    void initAudioPort(bool input, uint32_t index, AudioPort& port) override
    {
        port.groupId = kPortGroupStereo;  // one stereo bus, not two mono ones
        Plugin::initAudioPort(input, index, port);
    }

    void initParameter(uint32_t index, Parameter& parameter) override
    {
        switch (index)
        {
        case kGain:
            parameter.hints      = kParameterIsAutomatable;
            parameter.name       = "Gain";
            parameter.symbol     = "gain";
            parameter.unit       = "dB";
            parameter.ranges.min = -60.0f;
            parameter.ranges.max = 12.0f;
            parameter.ranges.def = 0.0f;
            break;
        case kPolarity:
            parameter.hints      = kParameterIsAutomatable | kParameterIsBoolean | kParameterIsInteger;
            parameter.name       = "Polarity";
            parameter.symbol     = "polarity";
            parameter.ranges.min = 0.0f;
            parameter.ranges.max = 1.0f;
            parameter.ranges.def = 0.0f;
            break;
        }
    }

    float getParameterValue(uint32_t index) const override
    {
        return index == kGain ? fGainDb : fPolarity;
    }

    void setParameterValue(uint32_t index, float value) override
    {
        if (index == kGain)
        {
#ifdef ATOMSYNTH_CRASH_ABOVE_DB
            if (value > ATOMSYNTH_CRASH_ABOVE_DB)
                std::abort();  // crash on demand (tests of the audio server's plugin bridge)
#endif
            fGainDb = value;
        }
        else if (index == kPolarity)
            fPolarity = value > 0.5f ? 1.0f : 0.0f;
        const double factor = std::pow(10.0, static_cast<double>(fGainDb) / 20.0);
        fFactor = static_cast<float>(fPolarity > 0.5f ? -factor : factor);
    }

    void run(const float** inputs, float** outputs, uint32_t frames) override
    {
        const float factor = fFactor;
        for (uint32_t c = 0; c < DISTRHO_PLUGIN_NUM_OUTPUTS; ++c)
        {
            const float* const in = inputs[c];
            float* const out = outputs[c];
            for (uint32_t i = 0; i < frames; ++i)
                out[i] = in[i] * factor;
        }
    }

private:
    float fGainDb;
    float fPolarity;
    float fFactor;

    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(AtomsynthTestGain)
};

Plugin* createPlugin()
{
    return new AtomsynthTestGain();
}

END_NAMESPACE_DISTRHO
