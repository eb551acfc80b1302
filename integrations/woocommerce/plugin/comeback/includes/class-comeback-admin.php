<?php
/**
 * The merchant's side in wp-admin: a "Comeback" menu that opens the Comeback dashboard already
 * logged in (a signed, single-use link made on click: no second password), and the settings
 * page that connects the store.
 *
 * Connecting: "Connect to Comeback" sends the merchant to the app, which has WooCommerce issue
 * API keys and sends them back here with `comeback_code`; the plugin trades that code (server to
 * server) for the shop's secret.  A `comeback_state` only this merchant's browser knows comes
 * back with it, so nobody can connect the store to their own shop with a crafted link.
 *
 * @package Comeback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Menu, settings page and admin actions.
 */
final class Comeback_Admin {

	const MENU_SLUG     = 'comeback';
	const SETTINGS_SLUG = 'comeback-settings';
	const STATE_PREFIX  = 'comeback_connect_state_';

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'settings' ) );
		add_action( 'admin_post_comeback_connect', array( __CLASS__, 'connect' ) );
		add_action( 'admin_post_comeback_disconnect', array( __CLASS__, 'disconnect' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( COMEBACK_FILE ), array( __CLASS__, 'action_links' ) );
		// options.php asks for manage_options by default: shop managers may save Comeback's settings too.
		add_filter( 'option_page_capability_comeback', array( 'Comeback_Connection', 'capability' ) );
	}

	/**
	 * The top-level "Comeback" menu (opens the dashboard) and its Settings page.
	 */
	public static function menu() {
		$capability = Comeback_Connection::capability();
		$dashboard  = add_menu_page(
			__( 'Comeback', 'comeback' ),
			__( 'Comeback', 'comeback' ),
			$capability,
			self::MENU_SLUG,
			array( __CLASS__, 'dashboard_page' ),
			'dashicons-awards',
			56
		);
		add_submenu_page( self::MENU_SLUG, __( 'Comeback dashboard', 'comeback' ), __( 'Dashboard', 'comeback' ), $capability, self::MENU_SLUG, array( __CLASS__, 'dashboard_page' ) );
		$settings = add_submenu_page( self::MENU_SLUG, __( 'Comeback settings', 'comeback' ), __( 'Settings', 'comeback' ), $capability, self::SETTINGS_SLUG, array( __CLASS__, 'settings_page' ) );
		add_action( 'load-' . $dashboard, array( __CLASS__, 'open_dashboard' ) );
		add_action( 'load-' . $settings, array( __CLASS__, 'settings_load' ) );
	}

	/**
	 * The Settings API: the app's address.
	 */
	public static function settings() {
		register_setting(
			'comeback',
			Comeback_Connection::OPTION_APP_URL,
			array(
				'type'              => 'string',
				'sanitize_callback' => array( __CLASS__, 'sanitize_app_url' ),
				'default'           => COMEBACK_DEFAULT_APP_URL,
				'show_in_rest'      => false,
			)
		);
		add_settings_section( 'comeback_app', __( 'Comeback app', 'comeback' ), '__return_false', self::SETTINGS_SLUG );
		add_settings_field(
			Comeback_Connection::OPTION_APP_URL,
			__( 'App address', 'comeback' ),
			array( __CLASS__, 'app_url_field' ),
			self::SETTINGS_SLUG,
			'comeback_app',
			array( 'label_for' => Comeback_Connection::OPTION_APP_URL )
		);
	}

	/**
	 * An http(s) URL without a trailing slash; changing it disconnects (the secret belongs to
	 * the other app).
	 *
	 * @param mixed $value The submitted value.
	 * @return string
	 */
	public static function sanitize_app_url( $value ) {
		$previous = Comeback_Connection::app_url();
		$url      = untrailingslashit( esc_url_raw( trim( (string) $value ), array( 'http', 'https' ) ) );
		$parts    = wp_parse_url( $url );
		if ( '' === $url || empty( $parts['host'] ) || ! in_array( $parts['scheme'] ?? '', array( 'http', 'https' ), true ) ) {
			add_settings_error( Comeback_Connection::OPTION_APP_URL, 'comeback_app_url', __( 'Enter the app address as a full http(s) URL.', 'comeback' ) );
			return $previous;
		}
		if ( $url !== $previous && Comeback_Connection::is_connected() ) {
			Comeback_Connection::disconnect();
			add_settings_error( Comeback_Connection::OPTION_APP_URL, 'comeback_app_url_changed', __( 'The app address changed: connect the store again.', 'comeback' ), 'warning' );
		}
		return $url;
	}

	/**
	 * The app address field.
	 */
	public static function app_url_field() {
		printf(
			'<input type="url" class="regular-text code" dir="ltr" id="%1$s" name="%1$s" value="%2$s" required><p class="description">%3$s</p>',
			esc_attr( Comeback_Connection::OPTION_APP_URL ),
			esc_attr( Comeback_Connection::app_url() ),
			esc_html__( 'Leave as it is unless Comeback asked you to use another address (for example a staging app).', 'comeback' )
		);
	}

	/**
	 * The "Comeback" menu: straight into the dashboard, logged in, when connected; otherwise the
	 * settings page.  Runs before any output (the page's load hook).
	 */
	public static function open_dashboard() {
		if ( ! current_user_can( Comeback_Connection::capability() ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage Comeback.', 'comeback' ), 403 );
		}
		if ( ! Comeback_Connection::is_connected() ) {
			wp_safe_redirect( self::settings_url() );
			exit;
		}
		$user = wp_get_current_user();
		$url  = Comeback_Connection::app_url() . '/woocommerce/admin?' . Comeback_Signer::build_query(
			Comeback_Connection::signed(
				array(
					array( 'user', (string) $user->ID ),
					array( 'email', (string) $user->user_email ),
				)
			)
		);
		nocache_headers();
		wp_redirect( $url ); // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- the merchant's own Comeback app.
		exit;
	}

	/**
	 * Fallback body of the dashboard page (shown only if the redirect could not happen).
	 */
	public static function dashboard_page() {
		echo '<div class="wrap"><h1>' . esc_html__( 'Comeback', 'comeback' ) . '</h1><p><a href="' . esc_url( self::settings_url() ) . '">' . esc_html__( 'Connect your store to Comeback', 'comeback' ) . '</a></p></div>';
	}

	/**
	 * The settings page's few styles (logical properties: right to left in Hebrew and Persian).
	 */
	public static function styles() {
		wp_enqueue_style( 'comeback-admin', plugins_url( 'assets/admin.css', COMEBACK_FILE ), array(), COMEBACK_VERSION );
	}

	/**
	 * The settings page's load hook: the return from connecting (claim the code) and notices.
	 */
	public static function settings_load() {
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'styles' ) );
		if ( ! current_user_can( Comeback_Connection::capability() ) || ! isset( $_GET['comeback_code'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- verified below by the connect state.
			return;
		}
		$code  = sanitize_text_field( wp_unslash( $_GET['comeback_code'] ) ); // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		$state = isset( $_GET['comeback_state'] ) ? sanitize_text_field( wp_unslash( $_GET['comeback_state'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		$key   = self::STATE_PREFIX . get_current_user_id();
		$kept  = (string) get_transient( $key );
		if ( '' === $kept || '' === $state || ! hash_equals( $kept, $state ) ) {
			self::back_with( 'stale' );
		}
		delete_transient( $key );
		$claimed = Comeback_Connection::claim( $code );
		if ( is_wp_error( $claimed ) ) {
			set_transient( 'comeback_claim_error_' . get_current_user_id(), $claimed->get_error_message(), 300 );
			self::back_with( 'failed' );
		}
		self::back_with( 'connected' );
	}

	/**
	 * Back to the settings page with a notice (and without the code in the address bar).
	 *
	 * @param string $notice Which notice.
	 */
	private static function back_with( $notice ) {
		wp_safe_redirect( add_query_arg( 'comeback_notice', $notice, self::settings_url() ) );
		exit;
	}

	/**
	 * "Connect to Comeback": remember a state for this merchant and go to the app.
	 */
	public static function connect() {
		if ( ! current_user_can( Comeback_Connection::capability() ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage Comeback.', 'comeback' ), 403 );
		}
		check_admin_referer( 'comeback_connect' );
		$state = wp_generate_password( 32, false );
		set_transient( self::STATE_PREFIX . get_current_user_id(), $state, 30 * MINUTE_IN_SECONDS );
		$return = add_query_arg( 'comeback_state', $state, self::settings_url() );
		wp_redirect( Comeback_Connection::connect_url( $return ) ); // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- the merchant's own Comeback app.
		exit;
	}

	/**
	 * "Disconnect": forget the shop and its secret (the widget disappears from the store).
	 */
	public static function disconnect() {
		if ( ! current_user_can( Comeback_Connection::capability() ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage Comeback.', 'comeback' ), 403 );
		}
		check_admin_referer( 'comeback_disconnect' );
		Comeback_Connection::disconnect();
		self::back_with( 'disconnected' );
	}

	/**
	 * The settings page.
	 */
	public static function settings_page() {
		if ( ! current_user_can( Comeback_Connection::capability() ) ) {
			return;
		}
		$notice = isset( $_GET['comeback_notice'] ) ? sanitize_key( wp_unslash( $_GET['comeback_notice'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- which message to show, nothing else.
		$shop   = Comeback_Connection::shop();
		echo '<div class="wrap comeback-settings">';
		echo '<h1>' . esc_html__( 'Comeback settings', 'comeback' ) . '</h1>';
		self::notice( $notice );
		settings_errors();

		echo '<h2>' . esc_html__( 'Connection', 'comeback' ) . '</h2>';
		if ( Comeback_Connection::is_connected() ) {
			echo '<p class="comeback-status comeback-status--connected">';
			/* translators: %s: the shop's address in Comeback */
			printf( esc_html__( 'Connected to %s', 'comeback' ), '<strong dir="ltr">' . esc_html( $shop ) . '</strong>' );
			echo '</p><p>' . esc_html__( 'The rewards widget shows on every page of your store, for guests and logged-in customers.', 'comeback' ) . '</p>';
			echo '<div class="comeback-actions"><a class="button button-primary" href="' . esc_url( admin_url( 'admin.php?page=' . self::MENU_SLUG ) ) . '">' . esc_html__( 'Open Comeback', 'comeback' ) . '</a> ';
			echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" class="comeback-inline-form">';
			echo '<input type="hidden" name="action" value="comeback_disconnect">';
			wp_nonce_field( 'comeback_disconnect' );
			echo '<button type="submit" class="button">' . esc_html__( 'Disconnect', 'comeback' ) . '</button></form></div>';
		} else {
			echo '<p class="comeback-status">' . esc_html__( 'Not connected. Connecting creates WooCommerce API keys for Comeback (you approve them on the next page) and puts the rewards widget on your store.', 'comeback' ) . '</p>';
			echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '">';
			echo '<input type="hidden" name="action" value="comeback_connect">';
			wp_nonce_field( 'comeback_connect' );
			echo '<button type="submit" class="button button-primary">' . esc_html__( 'Connect to Comeback', 'comeback' ) . '</button></form>';
		}

		echo '<form method="post" action="' . esc_url( admin_url( 'options.php' ) ) . '">';
		settings_fields( 'comeback' );
		do_settings_sections( self::SETTINGS_SLUG );
		submit_button();
		echo '</form></div>';
	}

	/**
	 * The notice after a connect / disconnect round trip.
	 *
	 * @param string $notice Which notice.
	 */
	private static function notice( $notice ) {
		$messages = array(
			'connected'    => array( 'success', __( 'Your store is connected to Comeback.', 'comeback' ) ),
			'disconnected' => array( 'info', __( 'Your store is no longer connected to Comeback.', 'comeback' ) ),
			'stale'        => array( 'error', __( 'That connection link has expired or was not started here. Click "Connect to Comeback" again.', 'comeback' ) ),
			'failed'       => array( 'error', __( 'Comeback could not finish connecting your store. Please try again.', 'comeback' ) ),
		);
		if ( ! isset( $messages[ $notice ] ) ) {
			return;
		}
		list( $type, $message ) = $messages[ $notice ];
		$detail                 = '';
		if ( 'failed' === $notice ) {
			$detail = (string) get_transient( 'comeback_claim_error_' . get_current_user_id() );
			delete_transient( 'comeback_claim_error_' . get_current_user_id() );
		}
		printf(
			'<div class="notice notice-%1$s"><p>%2$s%3$s</p></div>',
			esc_attr( $type ),
			esc_html( $message ),
			'' !== $detail ? ' <code dir="ltr">' . esc_html( $detail ) . '</code>' : ''
		);
	}

	/**
	 * "Settings" beside the plugin on the Plugins screen.
	 *
	 * @param array $links The plugin's action links.
	 * @return array
	 */
	public static function action_links( $links ) {
		array_unshift( $links, '<a href="' . esc_url( self::settings_url() ) . '">' . esc_html__( 'Settings', 'comeback' ) . '</a>' );
		return $links;
	}

	/**
	 * The settings page's URL.
	 *
	 * @return string
	 */
	public static function settings_url() {
		return admin_url( 'admin.php?page=' . self::SETTINGS_SLUG );
	}
}
