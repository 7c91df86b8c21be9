// The Kotlin half of Redvest's Android platform seam. Rust calls these
// methods through JNI (src/platform/android.rs); the JSON shapes are decoded
// in src/platform/mobile.rs. Every method catches its own exceptions and
// returns an error text instead, because a Java exception left pending
// across JNI aborts the next native call.
//
// NOTE: written against the Android API 34 and AndroidX documentation; it
// has not been compiled or run yet (see docs/MOBILE.md).
package org.redvest.bridge

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.Uri
import android.os.Build
import android.os.Looper
import android.os.SystemClock
import android.provider.Settings
import androidx.activity.ComponentActivity
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.core.app.ActivityCompat
import androidx.core.content.ContextCompat
import androidx.core.content.FileProvider
import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import java.util.UUID

class RedvestBridge(private val activity: Activity) {
    private val context: Context = activity.applicationContext

    init {
        Fixes.init(context)
        NetworkWatch.init(context)
    }

    // ---- location -------------------------------------------------------

    fun startLocation(intervalMs: Long): String? = guard {
        if (!hasLocationPermission(context)) {
            requestOnce(LOCATION_PERMISSIONS, REQUEST_LOCATION)
            return@guard "waiting for location permission; allow location for Redvest"
        }
        activity.runOnUiThread { Fixes.start(context, intervalMs) }
        null
    }

    fun beginBackgroundLocation(): String? = guard {
        if (!hasLocationPermission(context)) {
            return@guard "location permission missing; allow location for Redvest before a patrol"
        }
        if (Build.VERSION.SDK_INT >= 33 && !granted(Manifest.permission.POST_NOTIFICATIONS)) {
            // The service runs without the permission, only its notification is hidden.
            requestOnce(arrayOf(Manifest.permission.POST_NOTIFICATIONS), REQUEST_NOTIFICATIONS)
        }
        ContextCompat.startForegroundService(context, Intent(context, PatrolLocationService::class.java))
        null
    }

    fun endBackgroundLocation(): String? = guard {
        context.stopService(Intent(context, PatrolLocationService::class.java))
        null
    }

    fun drainFixes(): String = try {
        Fixes.drain()
    } catch (error: Exception) {
        "[]"
    }

    // ---- connectivity ---------------------------------------------------

    fun networkState(): String = try {
        NetworkWatch.state(context)
    } catch (error: Exception) {
        "unknown: ${error.message}"
    }

    // ---- photos ---------------------------------------------------------

    fun startPhoto(source: String): String? = guard {
        val host = activity as? ComponentActivity
            ?: return@guard "the activity cannot start a photo session"
        Photos.result = null
        activity.runOnUiThread {
            when (source) {
                "camera" -> Photos.capture(host)
                "library" -> Photos.pick(host)
                else -> Photos.result = Photos.failed("unknown photo source $source")
            }
        }
        null
    }

    fun takePhotoResult(): String? {
        val result = Photos.result
        Photos.result = null
        return result
    }

    // ---- clock ----------------------------------------------------------

    fun monotonicClock(): String = try {
        val boots = Settings.Global.getInt(context.contentResolver, Settings.Global.BOOT_COUNT, -1)
        JSONObject()
            .put("boot_id", "android-boot-$boots")
            .put("millis", SystemClock.elapsedRealtime())
            .toString()
    } catch (error: Exception) {
        JSONObject().put("boot_id", "").put("millis", -1).toString()
    }

    // ---- helpers --------------------------------------------------------

    private fun granted(permission: String): Boolean =
        ContextCompat.checkSelfPermission(context, permission) == PackageManager.PERMISSION_GRANTED

    private fun requestOnce(permissions: Array<String>, code: Int) {
        if (!requested.add(code)) return
        activity.runOnUiThread { ActivityCompat.requestPermissions(activity, permissions, code) }
    }

    private inline fun guard(body: () -> String?): String? = try {
        body()
    } catch (error: Exception) {
        "${error.javaClass.simpleName}: ${error.message}"
    }

    companion object {
        private const val REQUEST_LOCATION = 7101
        private const val REQUEST_NOTIFICATIONS = 7102
        private val LOCATION_PERMISSIONS = arrayOf(
            Manifest.permission.ACCESS_FINE_LOCATION,
            Manifest.permission.ACCESS_COARSE_LOCATION,
        )
        private val requested = java.util.Collections.synchronizedSet(HashSet<Int>())

        fun hasLocationPermission(context: Context): Boolean =
            LOCATION_PERMISSIONS.any {
                ContextCompat.checkSelfPermission(context, it) == PackageManager.PERMISSION_GRANTED
            }
    }
}

/** Buffers every fix from the GPS and network providers until Rust drains them. */
internal object Fixes : LocationListener {
    /** Two hours at one fix a second, with margin; the oldest fix goes first. */
    private const val MAX_BUFFERED = 10_000
    private val buffer = ArrayDeque<String>()
    private var manager: LocationManager? = null
    private var started = false

    fun init(context: Context) {
        if (manager == null) {
            manager = context.getSystemService(Context.LOCATION_SERVICE) as LocationManager
        }
    }

    /** Registers for updates on the main looper; called on the UI thread. */
    @Synchronized
    fun start(context: Context, intervalMs: Long) {
        val manager = manager ?: return
        if (started || !RedvestBridge.hasLocationPermission(context)) return
        for (provider in listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)) {
            if (manager.allProviders.contains(provider)) {
                try {
                    manager.requestLocationUpdates(provider, intervalMs, 0f, this, Looper.getMainLooper())
                } catch (error: SecurityException) {
                    return
                }
            }
        }
        started = true
    }

    @Synchronized
    override fun onLocationChanged(location: Location) {
        buffer.addLast(encode(location))
        while (buffer.size > MAX_BUFFERED) buffer.removeFirst()
    }

    @Synchronized
    fun drain(): String {
        val array = JSONArray()
        for (fix in buffer) array.put(JSONObject(fix))
        buffer.clear()
        return array.toString()
    }

    private fun encode(location: Location): String {
        val mock = if (Build.VERSION.SDK_INT >= 31) location.isMock else {
            @Suppress("DEPRECATION")
            location.isFromMockProvider
        }
        return JSONObject()
            .put("lat", location.latitude)
            .put("lon", location.longitude)
            .put("accuracy_m", if (location.hasAccuracy()) location.accuracy.toDouble() else JSONObject.NULL)
            .put("time_ms", location.time)
            .put("speed_mps", if (location.hasSpeed()) location.speed.toDouble() else JSONObject.NULL)
            .put("bearing_deg", if (location.hasBearing()) location.bearing.toDouble() else JSONObject.NULL)
            .put("provider", location.provider ?: "unknown")
            .put("mock", mock)
            .toString()
    }
}

/** Tracks the default network through a system callback. */
internal object NetworkWatch {
    @Volatile private var current = "none"
    private var registered = false

    @Synchronized
    fun init(context: Context) {
        if (registered) return
        val manager = context.getSystemService(ConnectivityManager::class.java) ?: return
        manager.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) {
                current = describe(capabilities)
            }

            override fun onLost(network: Network) {
                current = "none"
            }
        })
        registered = true
        current = state(context)
    }

    fun state(context: Context): String {
        val manager = context.getSystemService(ConnectivityManager::class.java) ?: return current
        val network = manager.activeNetwork ?: return "none"
        val capabilities = manager.getNetworkCapabilities(network) ?: return "none"
        return describe(capabilities)
    }

    private fun describe(capabilities: NetworkCapabilities): String = when {
        capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED) -> "validated"
        capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) -> "connected"
        else -> "none"
    }
}

/** Camera capture and photo picking into filesDir/captures. */
internal object Photos {
    @Volatile var result: String? = null

    fun saved(file: File): String =
        JSONObject().put("status", "saved").put("path", file.absolutePath).toString()

    fun failed(detail: String): String =
        JSONObject().put("status", "failed").put("detail", detail).toString()

    private val cancelled: String = JSONObject().put("status", "cancelled").toString()

    private fun newFile(activity: Activity): File {
        val folder = File(activity.filesDir, "captures")
        folder.mkdirs()
        return File(folder, "${UUID.randomUUID()}.jpg")
    }

    /** Opens the camera app, asking for the CAMERA permission first if needed. */
    fun capture(activity: ComponentActivity) {
        val permission = Manifest.permission.CAMERA
        if (ContextCompat.checkSelfPermission(activity, permission) == PackageManager.PERMISSION_GRANTED) {
            launchCamera(activity)
            return
        }
        var launcher: ActivityResultLauncher<String>? = null
        launcher = activity.activityResultRegistry.register(
            "redvest-camera-permission",
            ActivityResultContracts.RequestPermission(),
        ) { allowed ->
            launcher?.unregister()
            if (allowed) launchCamera(activity) else result = failed("camera permission denied")
        }
        launcher.launch(permission)
    }

    private fun launchCamera(activity: ComponentActivity) {
        val file = newFile(activity)
        val uri: Uri = FileProvider.getUriForFile(activity, "${activity.packageName}.fileprovider", file)
        var launcher: ActivityResultLauncher<Uri>? = null
        launcher = activity.activityResultRegistry.register(
            "redvest-camera",
            ActivityResultContracts.TakePicture(),
        ) { taken ->
            launcher?.unregister()
            result = if (taken && file.length() > 0) saved(file) else {
                file.delete()
                cancelled
            }
        }
        launcher.launch(uri)
    }

    /** Opens the system photo picker and copies the chosen image into app storage. */
    fun pick(activity: ComponentActivity) {
        var launcher: ActivityResultLauncher<PickVisualMediaRequest>? = null
        launcher = activity.activityResultRegistry.register(
            "redvest-picker",
            ActivityResultContracts.PickVisualMedia(),
        ) { uri ->
            launcher?.unregister()
            result = if (uri == null) cancelled else copy(activity, uri)
        }
        launcher.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
    }

    private fun copy(activity: Activity, uri: Uri): String = try {
        val file = newFile(activity)
        activity.contentResolver.openInputStream(uri).use { input ->
            if (input == null) return failed("the picked photo cannot be opened")
            file.outputStream().use { output -> input.copyTo(output) }
        }
        saved(file)
    } catch (error: Exception) {
        failed("copying the picked photo failed: ${error.message}")
    }
}
