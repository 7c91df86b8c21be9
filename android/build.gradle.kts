// The Redvest native bridge, an Android library module. `dx bundle
// --platform android` copies this folder into its generated Gradle project
// as :plugins:redvestbridge because src/platform/android.rs declares it with
// #[manganis::ffi("android")]; the library manifest below is merged into
// the app's manifest by the Android Gradle plugin.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "org.redvest.bridge"
    compileSdk = 34

    defaultConfig {
        minSdk = 24
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    kotlinOptions {
        jvmTarget = "17"
    }

    sourceSets {
        getByName("main") {
            java.srcDirs("src/main/kotlin")
        }
    }
}

dependencies {
    implementation("androidx.core:core-ktx:1.13.1")
    implementation("androidx.activity:activity-ktx:1.9.3")
    implementation("androidx.appcompat:appcompat:1.7.1")
}
